-- One account per email: fails while two customers share one.

-- up
CREATE UNIQUE INDEX customers_email_key ON customers (email);

-- down
DROP INDEX customers_email_key;
