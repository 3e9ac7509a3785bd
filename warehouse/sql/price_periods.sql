-- Shelf price per store x item as inclusive validity ranges (valid_from..valid_to), whatever the
-- prices feed was keyed by: a Walmart week (its days in the calendar; a week the calendar lacks
-- cannot be placed and is left out), a week start (7 days) or a validity range (no valid_to: until
-- the day before the series' next price, the last one open to 2100-01-01).
-- Stored unsorted: its readers join on (store_id, item_id) and date, and sorting the full-M5
-- table's 6.8 million rows took as long as building it.
WITH weeks AS (
    SELECT wm_yr_wk, min(date) AS first_day, max(date) AS last_day
    FROM raw_calendar
    WHERE wm_yr_wk IS NOT NULL
    GROUP BY wm_yr_wk
),
keyed AS (
    SELECT p.store_id, p.item_id, p.sell_price, p.wm_yr_wk,
           CASE WHEN p.valid_from IS NOT NULL THEN p.valid_from
                WHEN p.week_start IS NOT NULL THEN p.week_start
                ELSE weeks.first_day END AS valid_from,
           CASE WHEN p.valid_from IS NOT NULL THEN p.valid_to
                WHEN p.week_start IS NOT NULL THEN p.week_start + 6
                ELSE weeks.last_day END AS valid_to
    FROM raw_prices p
    LEFT JOIN weeks ON weeks.wm_yr_wk = p.wm_yr_wk AND p.valid_from IS NULL AND p.week_start IS NULL
),
ordered AS (
    SELECT *,
           lead(valid_from) OVER (PARTITION BY store_id, item_id ORDER BY valid_from) AS next_from,
           lag(sell_price) OVER (PARTITION BY store_id, item_id ORDER BY valid_from) AS prev_price
    FROM keyed
    WHERE valid_from IS NOT NULL
)
SELECT store_id, item_id, valid_from,
       coalesce(valid_to, next_from - 1, DATE '2100-01-01') AS valid_to,
       sell_price, prev_price, wm_yr_wk
FROM ordered
