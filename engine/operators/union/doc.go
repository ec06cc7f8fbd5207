// Package union implements the union operator ("union"): UNION ALL, the rows of all its inputs, passed through unchanged.
package union
