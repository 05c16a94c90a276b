WITH recent AS (
    SELECT order_id, customer_id, product_id, amount
    FROM orders
    WHERE order_date >= '2024-01-01'
)
SELECT c.city, p.category, COUNT(*) AS n, SUM(r.amount) AS revenue
FROM recent r
JOIN customers c ON c.customer_id = r.customer_id
JOIN products p ON p.product_id = r.product_id
WHERE c.segment = 'consumer'
GROUP BY c.city, p.category
ORDER BY revenue DESC
LIMIT 50
