-- -------------------------------------------------------------------------------------------------
-- Query 6: Average Selling Price by Seller
-- -------------------------------------------------------------------------------------------------
-- What is the average selling price per seller for their last 10 closed auctions.
-- Shares the same 'winning bids' core as for Query4, and illustrates a specialized combiner.
--
-- Eddy: Flink's file computes
--     AVG(Q.price) OVER (PARTITION BY Q.seller ORDER BY Q.dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
-- over the winning bids, an OVER aggregate on a retracting input, which Flink does not run (FLINK-19059)
-- and Eddy has no OVER aggregates at all. What runs here computes the same figure as a materialized
-- result instead of one row per input row: the winning bid of each auction (Top-1 by price, as in
-- Flink's inner query), then each seller's 10 most recent auctions (Top-10 by the auction's expiry,
-- ties broken by auction id; ROWS 10 PRECEDING would be 11 rows, the text says 10), then AVG per seller.
-- Where it stops: an auction counts as soon as it has a bid, not once it has closed (the winner is the
-- highest bid so far and the result updates as bids arrive), and the sink gets the current average per
-- seller (an updating result), not the stream of moving averages an OVER window would emit.
-- -------------------------------------------------------------------------------------------------

-- BEGIN ddl.sql (the Nexmark tables; Script replaces this block)
CREATE TABLE person (
    id BIGINT,
    name VARCHAR,
    emailAddress VARCHAR,
    creditCard VARCHAR,
    city VARCHAR,
    state VARCHAR,
    dateTime TIMESTAMP(3),
    extra VARCHAR,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
    'connector' = 'nexmark',
    'table' = 'person',
    'first-event.rate' = '10000000',
    'next-event.rate' = '10000000',
    'events.num' = '10000000',
    'seed' = '0'
);

CREATE TABLE auction (
    id BIGINT,
    itemName VARCHAR,
    description VARCHAR,
    initialBid BIGINT,
    reserve BIGINT,
    dateTime TIMESTAMP(3),
    expires TIMESTAMP(3),
    seller BIGINT,
    category BIGINT,
    extra VARCHAR,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
    'connector' = 'nexmark',
    'table' = 'auction',
    'first-event.rate' = '10000000',
    'next-event.rate' = '10000000',
    'events.num' = '10000000',
    'seed' = '0'
);

CREATE TABLE bid (
    auction BIGINT,
    bidder BIGINT,
    price BIGINT,
    channel VARCHAR,
    url VARCHAR,
    dateTime TIMESTAMP(3),
    extra VARCHAR,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
    'connector' = 'nexmark',
    'table' = 'bid',
    'first-event.rate' = '10000000',
    'next-event.rate' = '10000000',
    'events.num' = '10000000',
    'seed' = '0'
);
-- END ddl.sql

CREATE TABLE nexmark_q6 (
  seller BIGINT,
  avg_price  BIGINT
) WITH (
  'connector' = 'blackhole'
);

INSERT INTO nexmark_q6
SELECT
    seller,
    AVG(price) AS avg_price
FROM (
    SELECT seller, price,
        ROW_NUMBER() OVER (PARTITION BY seller ORDER BY expires DESC, id DESC) AS seller_rownum
    FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY id, seller ORDER BY price DESC) AS rownum
        FROM (SELECT A.id, A.seller, A.expires, B.price, B.dateTime
            FROM auction AS A,
                bid AS B
            WHERE A.id = B.auction
                and B.dateTime between A.dateTime and A.expires)
        )
    WHERE rownum <= 1
)
WHERE seller_rownum <= 10
GROUP BY seller;
