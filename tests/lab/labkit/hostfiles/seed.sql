-- Lab database: appdb owned by app, with rows that backups and restore checks count.
CREATE ROLE app LOGIN PASSWORD '@PASSWORD@';
CREATE DATABASE appdb OWNER app;
\connect appdb
CREATE TABLE items (
    id integer PRIMARY KEY,
    name text NOT NULL,
    qty integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO items (id, name, qty) SELECT g, 'item-' || g, g % 17 FROM generate_series(1, 1000) AS g;
ALTER TABLE items OWNER TO app;
