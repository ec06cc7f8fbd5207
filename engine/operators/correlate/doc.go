// Package correlate implements the correlate operator ("correlate"): a user-defined table function applied to every row (LATERAL TABLE).
package correlate
