-- Daily units per store x item with price, promotion and calendar features.
-- A missing price means the item was not on the shelf that day (M5 convention).
-- A day that other series report but this series lacks is kept with units_imputed = true, so every
-- series stays gap-free for the forecast: 0 units when no row came (a closed shelf), and when its
-- row was quarantined (units_quarantined: a lost record, not a day without demand) the rounded mean
-- of the same weekday in the 4 weeks before it, 0 if none of them loaded. A day no series reports
-- is not invented. Series may start years apart (long history beside new items):
-- each runs from its own first to its own last day.
-- Without a calendar row (no calendar feed) week, weekday, month and year come from the date,
-- with the calendar adapter's rule (weeks start on Saturday, week id = that Saturday as YYYYMMDD).
WITH loaded AS (
    SELECT store_id, item_id, dept_id, cat_id, state_id, date, units FROM raw_pos
    UNION ALL
    SELECT h.store_id, h.item_id, h.dept_id, h.cat_id, h.state_id, h.date, h.units
    FROM raw_pos_history h ANTI JOIN raw_pos p USING (store_id, item_id, date)
),
pos_days AS (
    SELECT DISTINCT date FROM loaded
),
quarantined AS (
    -- rows whose store, item and date could still be read
    SELECT DISTINCT json_extract_string(raw_row, '$.store_id') AS store_id,
           json_extract_string(raw_row, '$.item_id') AS item_id, date
    FROM (SELECT raw_row, date FROM quarantine_pos UNION ALL SELECT raw_row, date FROM quarantine_pos_history)
    WHERE date IS NOT NULL
),
refill AS (
    SELECT q.store_id, q.item_id, q.date, CAST(round(avg(l.units)) AS INTEGER) AS units
    FROM quarantined q
    LEFT JOIN loaded l ON l.store_id = q.store_id AND l.item_id = q.item_id
                      AND l.date IN (q.date - 7, q.date - 14, q.date - 21, q.date - 28)
    GROUP BY ALL
),
series AS (
    SELECT store_id, item_id, any_value(dept_id) AS dept_id, any_value(cat_id) AS cat_id,
           any_value(state_id) AS state_id, min(date) AS first_date, max(date) AS last_date
    FROM loaded
    GROUP BY store_id, item_id
),
pos AS (
    SELECT series.store_id, series.item_id, series.dept_id, series.cat_id, series.state_id, pos_days.date,
           coalesce(loaded.units, refill.units, 0) AS units, loaded.units IS NULL AS units_imputed,
           loaded.units IS NULL AND refill.date IS NOT NULL AS units_quarantined
    FROM series
    JOIN pos_days ON pos_days.date BETWEEN series.first_date AND series.last_date
    LEFT JOIN loaded ON loaded.store_id = series.store_id AND loaded.item_id = series.item_id
                    AND loaded.date = pos_days.date
    LEFT JOIN refill ON refill.store_id = series.store_id AND refill.item_id = series.item_id
                    AND refill.date = pos_days.date
),
calendar AS (
    SELECT date, wm_yr_wk, wday, month, year, event_name_1, event_type_1, event_name_2,
           snap_CA, snap_TX, snap_WI
    FROM raw_calendar
),
store_events AS (
    -- an event without a store applies to every store
    SELECT stores.store_id, e.date, min(e.event_name) AS event_name, arg_min(e.event_type, e.event_name) AS event_type
    FROM raw_events e
    JOIN (SELECT DISTINCT store_id FROM series) stores ON e.store_id IS NULL OR e.store_id = stores.store_id
    GROUP BY stores.store_id, e.date
),
promotions AS (
    SELECT store_id, item_id, date, on_promotion, discount_pct FROM raw_promotions
),
prices AS (
    -- a price that ended before the first POS day cannot match
    SELECT store_id, item_id, valid_from, valid_to, sell_price, prev_price
    FROM price_periods
    WHERE (store_id, item_id) IN (SELECT store_id, item_id FROM series)
      AND valid_to >= (SELECT min(date) FROM loaded)
),
joined AS (
    SELECT pos.*, calendar.* EXCLUDE (date),
           store_events.event_name, store_events.event_type,
           promotions.on_promotion, promotions.discount_pct,
           CASE WHEN pos.date <= prices.valid_to THEN prices.sell_price END AS sell_price,
           CASE WHEN pos.date <= prices.valid_to THEN prices.prev_price END AS prev_price
    FROM pos
    LEFT JOIN calendar USING (date)
    LEFT JOIN store_events ON store_events.store_id = pos.store_id AND store_events.date = pos.date
    LEFT JOIN promotions ON promotions.store_id = pos.store_id AND promotions.item_id = pos.item_id
                        AND promotions.date = pos.date
    ASOF LEFT JOIN prices ON prices.store_id = pos.store_id AND prices.item_id = pos.item_id
                         AND pos.date >= prices.valid_from
)
SELECT store_id, item_id, dept_id, cat_id, state_id, date, units, units_imputed, units_quarantined, sell_price,
       CASE WHEN prev_price > 0 THEN sell_price / prev_price - 1 ELSE 0 END AS price_change_pct,
       coalesce(wm_yr_wk, CAST(strftime(date - CAST((dayofweek(date) + 1) % 7 AS INTEGER), '%Y%m%d') AS INTEGER))
           AS wm_yr_wk,
       coalesce(wday, CAST((dayofweek(date) + 1) % 7 AS INTEGER) + 1) AS wday,
       coalesce(month, month(date)) AS month,
       coalesce(year, year(date)) AS year,
       coalesce(event_name_1, event_name) AS event_name_1,
       CASE WHEN event_name_1 IS NOT NULL THEN event_type_1 ELSE event_type END AS event_type_1,
       (event_name_1 IS NOT NULL OR event_name_2 IS NOT NULL OR event_name IS NOT NULL) AS is_event,
       coalesce(CASE state_id WHEN 'CA' THEN snap_CA WHEN 'TX' THEN snap_TX WHEN 'WI' THEN snap_WI END, 0) AS snap,
       coalesce(on_promotion, 0) AS on_promotion,
       discount_pct
FROM joined
ORDER BY store_id, item_id, date
