-- Daily units per store x item with price and calendar features.
-- A missing price means the item was not on the shelf that week (M5 convention).
-- A day that other series report but this series lacks (its POS row was quarantined) is kept as
-- 0 units with units_imputed = true, so every series stays gap-free for the forecast; a day no
-- series reports is not invented.
WITH loaded AS (
    SELECT store_id, item_id, dept_id, cat_id, state_id, date, units FROM raw_pos
),
pos_days AS (
    SELECT DISTINCT date FROM loaded
),
series AS (
    SELECT store_id, item_id, any_value(dept_id) AS dept_id, any_value(cat_id) AS cat_id,
           any_value(state_id) AS state_id, min(date) AS first_date, max(date) AS last_date
    FROM loaded
    GROUP BY store_id, item_id
),
pos AS (
    SELECT series.store_id, series.item_id, series.dept_id, series.cat_id, series.state_id, pos_days.date,
           coalesce(loaded.units, 0) AS units, loaded.units IS NULL AS units_imputed
    FROM series
    JOIN pos_days ON pos_days.date BETWEEN series.first_date AND series.last_date
    LEFT JOIN loaded ON loaded.store_id = series.store_id AND loaded.item_id = series.item_id
                    AND loaded.date = pos_days.date
),
calendar AS (
    SELECT date, wm_yr_wk, wday, month, year, event_name_1, event_type_1, event_name_2,
           snap_CA, snap_TX, snap_WI
    FROM raw_calendar
),
prices AS (
    SELECT store_id, item_id, wm_yr_wk, sell_price,
           lag(sell_price) OVER (PARTITION BY store_id, item_id ORDER BY wm_yr_wk) AS prev_price
    FROM raw_prices
    WHERE (store_id, item_id) IN (SELECT store_id, item_id FROM series)
)
SELECT pos.store_id, pos.item_id, pos.dept_id, pos.cat_id, pos.state_id, pos.date, pos.units,
       pos.units_imputed, prices.sell_price,
       CASE WHEN prices.prev_price > 0 THEN prices.sell_price / prices.prev_price - 1 ELSE 0 END
           AS price_change_pct,
       calendar.wm_yr_wk, calendar.wday, calendar.month, calendar.year,
       calendar.event_name_1, calendar.event_type_1,
       (calendar.event_name_1 IS NOT NULL OR calendar.event_name_2 IS NOT NULL) AS is_event,
       CASE pos.state_id WHEN 'CA' THEN calendar.snap_CA WHEN 'TX' THEN calendar.snap_TX
                         WHEN 'WI' THEN calendar.snap_WI ELSE 0 END AS snap
FROM pos
JOIN calendar USING (date)
LEFT JOIN prices ON prices.store_id = pos.store_id AND prices.item_id = pos.item_id
                AND prices.wm_yr_wk = calendar.wm_yr_wk
ORDER BY pos.store_id, pos.item_id, pos.date
