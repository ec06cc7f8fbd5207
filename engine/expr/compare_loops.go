package expr

// The comparison loops below pack their results eight rows per output byte,
// least significant bit first (Arrow's bit order), unrolled by eight so the
// compiler emits branch-free code. out must hold (len(a)+7)/8 bytes.

// ltAA sets bit i when a[i] < b[i].
func ltAA[T number](a, b []T, out []byte) {
	n := len(a)
	b = b[:n]
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] < y[0]) | b2u(x[1] < y[1])<<1 | b2u(x[2] < y[2])<<2 | b2u(x[3] < y[3])<<3 |
			b2u(x[4] < y[4])<<4 | b2u(x[5] < y[5])<<5 | b2u(x[6] < y[6])<<6 | b2u(x[7] < y[7])<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] < b[i]) << (i - full)
		}
		out[full>>3] = w
	}
}

// leAA sets bit i when a[i] <= b[i].
func leAA[T number](a, b []T, out []byte) {
	n := len(a)
	b = b[:n]
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] <= y[0]) | b2u(x[1] <= y[1])<<1 | b2u(x[2] <= y[2])<<2 | b2u(x[3] <= y[3])<<3 |
			b2u(x[4] <= y[4])<<4 | b2u(x[5] <= y[5])<<5 | b2u(x[6] <= y[6])<<6 | b2u(x[7] <= y[7])<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] <= b[i]) << (i - full)
		}
		out[full>>3] = w
	}
}

// eqAA sets bit i when a[i] == b[i].
func eqAA[T number](a, b []T, out []byte) {
	n := len(a)
	b = b[:n]
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] == y[0]) | b2u(x[1] == y[1])<<1 | b2u(x[2] == y[2])<<2 | b2u(x[3] == y[3])<<3 |
			b2u(x[4] == y[4])<<4 | b2u(x[5] == y[5])<<5 | b2u(x[6] == y[6])<<6 | b2u(x[7] == y[7])<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] == b[i]) << (i - full)
		}
		out[full>>3] = w
	}
}

// neAA sets bit i when a[i] != b[i].
func neAA[T number](a, b []T, out []byte) {
	n := len(a)
	b = b[:n]
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] != y[0]) | b2u(x[1] != y[1])<<1 | b2u(x[2] != y[2])<<2 | b2u(x[3] != y[3])<<3 |
			b2u(x[4] != y[4])<<4 | b2u(x[5] != y[5])<<5 | b2u(x[6] != y[6])<<6 | b2u(x[7] != y[7])<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] != b[i]) << (i - full)
		}
		out[full>>3] = w
	}
}

// ltAS sets bit i when a[i] < s.
func ltAS[T number](a []T, s T, out []byte) {
	n := len(a)
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] < s) | b2u(x[1] < s)<<1 | b2u(x[2] < s)<<2 | b2u(x[3] < s)<<3 |
			b2u(x[4] < s)<<4 | b2u(x[5] < s)<<5 | b2u(x[6] < s)<<6 | b2u(x[7] < s)<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] < s) << (i - full)
		}
		out[full>>3] = w
	}
}

// leAS sets bit i when a[i] <= s.
func leAS[T number](a []T, s T, out []byte) {
	n := len(a)
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] <= s) | b2u(x[1] <= s)<<1 | b2u(x[2] <= s)<<2 | b2u(x[3] <= s)<<3 |
			b2u(x[4] <= s)<<4 | b2u(x[5] <= s)<<5 | b2u(x[6] <= s)<<6 | b2u(x[7] <= s)<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] <= s) << (i - full)
		}
		out[full>>3] = w
	}
}

// gtAS sets bit i when a[i] > s.
func gtAS[T number](a []T, s T, out []byte) {
	n := len(a)
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] > s) | b2u(x[1] > s)<<1 | b2u(x[2] > s)<<2 | b2u(x[3] > s)<<3 |
			b2u(x[4] > s)<<4 | b2u(x[5] > s)<<5 | b2u(x[6] > s)<<6 | b2u(x[7] > s)<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] > s) << (i - full)
		}
		out[full>>3] = w
	}
}

// geAS sets bit i when a[i] >= s.
func geAS[T number](a []T, s T, out []byte) {
	n := len(a)
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] >= s) | b2u(x[1] >= s)<<1 | b2u(x[2] >= s)<<2 | b2u(x[3] >= s)<<3 |
			b2u(x[4] >= s)<<4 | b2u(x[5] >= s)<<5 | b2u(x[6] >= s)<<6 | b2u(x[7] >= s)<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] >= s) << (i - full)
		}
		out[full>>3] = w
	}
}

// eqAS sets bit i when a[i] == s.
func eqAS[T number](a []T, s T, out []byte) {
	n := len(a)
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] == s) | b2u(x[1] == s)<<1 | b2u(x[2] == s)<<2 | b2u(x[3] == s)<<3 |
			b2u(x[4] == s)<<4 | b2u(x[5] == s)<<5 | b2u(x[6] == s)<<6 | b2u(x[7] == s)<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] == s) << (i - full)
		}
		out[full>>3] = w
	}
}

// neAS sets bit i when a[i] != s.
func neAS[T number](a []T, s T, out []byte) {
	n := len(a)
	full := n &^ 7
	for i := 0; i < full; i += 8 {
		x := a[i : i+8 : i+8]
		out[i>>3] = b2u(x[0] != s) | b2u(x[1] != s)<<1 | b2u(x[2] != s)<<2 | b2u(x[3] != s)<<3 |
			b2u(x[4] != s)<<4 | b2u(x[5] != s)<<5 | b2u(x[6] != s)<<6 | b2u(x[7] != s)<<7
	}
	if full < n {
		var w byte
		for i := full; i < n; i++ {
			w |= b2u(a[i] != s) << (i - full)
		}
		out[full>>3] = w
	}
}

// b2u converts a bool to 0 or 1.
func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}
