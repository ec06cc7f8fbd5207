// Package catalog holds the tables and views a SQL script declares: for a
// table (CREATE TABLE) its physical schema, computed columns, watermark and
// connector options, checked against the registered connectors when the
// table is created; for a view (CREATE VIEW) its query and the schema the
// analyzer derived for it. Tables and views share one namespace.
//
// Table and column names resolve case-insensitively but keep the case they
// were written in. Errors are *parse.Error values positioned in the user's
// script.
package catalog
