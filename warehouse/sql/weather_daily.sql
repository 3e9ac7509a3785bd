-- NOAA daily weather per Walmart (stormy-weather) store, via the store -> station key.
WITH weather AS (
    SELECT station_nbr, date, tmax, tmin, tavg, preciptotal, preciptotal_trace, snowfall,
           snowfall_trace, avgspeed, codesum
    FROM raw_weather
),
stores AS (
    SELECT store_nbr, station_nbr FROM raw_weather_key
)
SELECT stores.store_nbr, weather.station_nbr, weather.date,
       weather.tmax, weather.tmin,
       coalesce(weather.tavg, (weather.tmax + weather.tmin) / 2) AS tavg_f,
       weather.preciptotal AS precip_in, weather.preciptotal_trace AS precip_trace,
       weather.snowfall AS snow_in, weather.snowfall_trace AS snow_trace,
       weather.avgspeed AS wind_mph,
       coalesce(weather.codesum LIKE '%RA%' OR weather.codesum LIKE '%TS%', false) AS rain,
       coalesce(weather.codesum LIKE '%SN%', false) AS snow
FROM stores
JOIN weather USING (station_nbr)
ORDER BY stores.store_nbr, weather.date
