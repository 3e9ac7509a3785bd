-- Daily weather per store: the store's own weather (weather rows keyed by store_id) or else its
-- station's (weather_stations map; proxy = the station stands in for a store whose location is not
-- known). source = 'observed' up to the last POS date, 'forecast' after it (a weather forecast
-- supplied for those days). Every store with a station mapping or its own weather has rows.
-- tavg_f: the reported average, else the mean of tmax_f and tmin_f.
WITH weather AS (
    SELECT station, store_id, date, tmax_f, tmin_f, tavg_f, prcp_in, snow_in FROM raw_weather
),
own AS (
    SELECT store_id, date, tmax_f, tmin_f, tavg_f, prcp_in, snow_in,
           station, false AS station_proxy, 0 AS priority
    FROM weather
    WHERE store_id IS NOT NULL
),
mapped AS (
    SELECT k.store_id, w.date, w.tmax_f, w.tmin_f, w.tavg_f, w.prcp_in, w.snow_in,
           k.station, coalesce(k.proxy, false) AS station_proxy, 1 AS priority
    FROM raw_weather_key k
    JOIN weather w ON w.station = k.station AND w.store_id IS NULL
),
best AS (
    SELECT * FROM (SELECT * FROM own UNION ALL SELECT * FROM mapped)
    QUALIFY row_number() OVER (PARTITION BY store_id, date ORDER BY priority) = 1
)
SELECT store_id, date, tmax_f, tmin_f, prcp_in, snow_in,
       CASE WHEN date > (SELECT max(date) FROM raw_pos) THEN 'forecast' ELSE 'observed' END AS source,
       coalesce(tavg_f, (tmax_f + tmin_f) / 2) AS tavg_f, station, station_proxy
FROM best
ORDER BY store_id, date
