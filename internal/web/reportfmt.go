package web

import (
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/pricing"
)

// How the report pages write numbers: on chart axes, in tooltips, in
// tables of prices and sizes.

// plural counts things: "1 span has", "3 spans have". Every count the UI
// writes before a noun goes through it, so that none reads "1 spans".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return groupDigits(n) + " " + many
}

// pluralOf is plural for templates, whose counts are of any integer type.
func pluralOf(n any, one, many string) (string, error) {
	v := reflect.ValueOf(n)
	switch {
	case v.CanInt():
		return plural(v.Int(), one, many), nil
	case v.CanUint():
		return plural(int64(v.Uint()), one, many), nil
	}
	return "", fmt.Errorf("plural: %T is not a count", n)
}

// countFormat, durationFormat and scoreFormat write the values of the
// count, latency (ns) and score charts.
func countFormat(v float64) string { return groupDigits(int64(math.Round(v))) }

func durationFormat(v float64) string {
	if v == 0 {
		return "0"
	}
	return humanDuration(int64(v))
}

func scoreFormat(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// percentFormat writes a percentage with a decimal below 10: 2.5%, 33%.
func percentFormat(v float64) string {
	if v != 0 && math.Abs(v) < 10 {
		return trimZero(strconv.FormatFloat(v, 'f', 1, 64)) + "%"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "%"
}

// compactCount writes a count for an axis: 950, 2.5k, 12k, 1.2M.
func compactCount(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a < 1000:
		return groupDigits(int64(v))
	case a < 1_000_000:
		return trimZero(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case a < 1_000_000_000:
		return trimZero(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	}
	return trimZero(strconv.FormatFloat(v/1e9, 'f', 1, 64)) + "G"
}

// rateItem is one token class's price, for display.
type rateItem struct{ Label, Value string }

// rateItems lists a price set in the order of the form's fields.
func rateItems(r pricing.Rates) []rateItem {
	var out []rateItem
	for _, c := range tokenClasses {
		if v, ok := r[c.Type]; ok {
			out = append(out, rateItem{Label: strings.ToLower(c.Label), Value: rate(v)})
		}
	}
	return out
}

// host is the host of a URL, to name a price list's source in little room.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return strings.TrimPrefix(u.Host, "www.")
}

// joinNames lists a few names: "a, b and 3 more".
func joinNames(names []string) string {
	const shown = 3
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:shown], ", ") + " and " + strconv.Itoa(len(names)-shown) + " more"
}

// bytesSize writes a size of any magnitude: 812 KB, 3.4 GB.
func bytesSize(n int64) string {
	const unit = 1 << 10
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return trimZero(strconv.FormatFloat(v, 'f', 1, 64)) + " " + string("KMGTP"[i]) + "B"
}

// share writes a fraction as a percentage: 0.75 → "75%".
func share(f float64) string { return percentFormat(f * 100) }

// daysLabel writes a retention age: "30 days", "1 day", "12 hours".
func daysLabel(d float64) string {
	switch {
	case d == 1:
		return "1 day"
	case d < 1:
		return strconv.FormatFloat(d*24, 'g', 3, 64) + " hours"
	}
	return strconv.FormatFloat(d, 'g', 6, 64) + " days"
}

// rate writes a price in USD per 1M tokens: $2.50, $0.075.
func rate(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i < 0 || len(s)-i-1 < 2 {
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	return "$" + s
}
