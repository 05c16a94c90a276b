SELECT city, segment FROM customers WHERE city = 'Denver'
