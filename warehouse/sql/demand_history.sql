-- Daily units per store x item with price and calendar features.
-- A missing price means the item was not on the shelf that week (M5 convention).
WITH pos AS (
    SELECT store_id, item_id, dept_id, cat_id, state_id, date, units FROM raw_pos
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
    WHERE (store_id, item_id) IN (SELECT DISTINCT store_id, item_id FROM pos)
)
SELECT pos.store_id, pos.item_id, pos.dept_id, pos.cat_id, pos.state_id, pos.date, pos.units,
       prices.sell_price,
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
