-- The shop as it first shipped: a customer has one full name.

-- up
CREATE TABLE customers (id BIGINT PRIMARY KEY, full_name TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    total_cents INTEGER NOT NULL
);

-- down
DROP TABLE orders;
DROP TABLE customers;
