-- Per vendor x freight mode: delivery reliability, lead time, freight per kg and cost index
-- from the real USAID SCMS shipment history.
-- Sums and averages are rounded (9 decimals; the dollar total 6): DuckDB adds in parallel, in an
-- order that varies by run, and a last-bit difference would change the supplier scores and so the POs.
WITH lines AS (
    SELECT shipment_id, vendor, country, molecule, unit_price_usd, line_value_usd,
           po_sent_date, scheduled_date, delivered_date, weight_kg, freight_usd,
           shares_shipment_figures,
           CASE shipment_mode WHEN 'Air' THEN 'air' WHEN 'Air Charter' THEN 'air'
                              WHEN 'Truck' THEN 'road' WHEN 'Ocean' THEN 'sea'
                              ELSE 'unknown' END AS mode
    FROM raw_shipments
    WHERE vendor <> 'SCMS from RDC'  -- internal transfers from regional warehouses, not a supplier
),
priced AS (
    -- a vendor's price relative to the median price of the same product across all vendors
    SELECT *, unit_price_usd / nullif(median(unit_price_usd) OVER (PARTITION BY molecule), 0)
                  AS price_ratio
    FROM lines
),
per_line AS (
    SELECT *,
           date_diff('day', scheduled_date, delivered_date) AS delay_days,
           date_diff('day', po_sent_date, delivered_date) AS lead_time_days
    FROM priced
)
SELECT vendor, mode,
       count(*) AS n_lines,
       round(avg((delay_days > 0)::INTEGER), 9) AS late_rate,
       round(avg(greatest(delay_days, 0)), 9) AS mean_delay_days,
       count(lead_time_days) AS n_lead_times,
       median(lead_time_days) AS lead_time_p50,
       quantile_cont(lead_time_days, 0.9) AS lead_time_p90,
       round(coalesce(stddev_samp(lead_time_days), 0), 9) AS lead_time_std,
       -- weight and freight are per shipment: count each shipment's figures once
       round(sum(freight_usd) FILTER (WHERE NOT shares_shipment_figures AND weight_kg > 0 AND freight_usd > 0)
         / nullif(sum(weight_kg) FILTER (WHERE NOT shares_shipment_figures AND weight_kg > 0 AND freight_usd > 0), 0), 9)
           AS freight_usd_per_kg,
       round(avg(weight_kg) FILTER (WHERE NOT shares_shipment_figures AND weight_kg > 0), 9) AS mean_shipment_kg,
       median(price_ratio) AS cost_index,
       round(sum(line_value_usd), 6) AS total_value_usd,
       min(delivered_date) AS first_delivery,
       max(delivered_date) AS last_delivery
FROM per_line
GROUP BY vendor, mode
ORDER BY vendor, mode
