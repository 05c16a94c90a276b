WITH ranked AS (
    SELECT c.city, o.order_id, o.order_date, o.amount,
           ROW_NUMBER() OVER (PARTITION BY c.city ORDER BY o.order_date DESC) AS rn
    FROM orders o
    JOIN customers c ON c.customer_id = o.customer_id
    WHERE o.status IN ('shipped', 'pending')
)
SELECT city, order_id, order_date, amount, 'latest' AS kind
FROM ranked
WHERE rn <= 3
UNION ALL
SELECT ship_city AS city, order_id, order_date, amount, 'big_return' AS kind
FROM orders
WHERE status = 'returned' AND amount > 100
ORDER BY city, order_date DESC
LIMIT 100
