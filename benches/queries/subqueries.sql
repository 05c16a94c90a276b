SELECT t.category, t.order_count, t.revenue
FROM (
    SELECT p.category, COUNT(*) AS order_count, SUM(o.amount) AS revenue
    FROM orders o
    JOIN products p ON p.product_id = o.product_id
    WHERE o.status = 'shipped'
      AND o.product_id IN (SELECT product_id FROM products WHERE price > 50)
      AND EXISTS (
          SELECT 1
          FROM customers c
          WHERE c.customer_id = o.customer_id
            AND c.segment = 'vip'
      )
    GROUP BY p.category
) AS t
WHERE t.revenue > 1000
ORDER BY t.revenue DESC
LIMIT 20
