// Package usd writes amounts of US dollars the way Loupe shows them
// everywhere a person reads a cost: the web UI, the command line and the
// figures of the REST API.
package usd

import (
	"math"
	"strconv"
	"strings"
)

// noise is below any real cost: the cheapest token is priced at about a
// hundredth of a micro-dollar, so an amount under half a nano-dollar is what
// adding and taking away the same costs leaves behind in binary floating
// point, not money.
const noise = 5e-10

// Round drops the binary noise of sums of costs: twelve significant digits
// keep every cost a price table can produce, and amounts under a
// nano-dollar are zero. Callers that hand figures on as numbers use it.
func Round(v float64) float64 {
	if math.Abs(v) < noise || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return r
}

// Format writes an amount with three significant digits below a dollar, so
// that the costs of single model calls still compare ($0.0000195 against
// $0.000147), and with cents from a dollar up ($1.27, $1,234.50). Zero is
// "$0".
func Format(v float64) string {
	v = Round(v)
	switch {
	case v == 0:
		return "$0"
	case v < 0:
		return "-" + Format(-v)
	}
	if r := roundSignificant(v, 3); r < 1 {
		// The shortest form of the rounded amount has its three digits and
		// no trailing zeros; cents are always written.
		s := strconv.FormatFloat(r, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += "."
		}
		for len(s)-strings.IndexByte(s, '.') < 3 {
			s += "0"
		}
		return "$" + s
	}
	cents := strconv.FormatFloat(v, 'f', 2, 64)
	whole, frac, _ := strings.Cut(cents, ".")
	return "$" + group(whole) + "." + frac
}

// roundSignificant rounds v > 0 to n significant digits.
func roundSignificant(v float64, n int) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', n, 64), 64)
	return r
}

// group puts a comma between thousands: 1234567 → 1,234,567.
func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
