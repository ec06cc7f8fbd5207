// Package catalog holds the tables a SQL script declares with CREATE TABLE:
// their physical schemas, watermarks and connector options, checked against
// the registered connectors when the table is created.
//
// Table and column names resolve case-insensitively but keep the case they
// were written in. Errors are *parse.Error values positioned in the user's
// script.
package catalog
