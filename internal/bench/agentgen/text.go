package agentgen

import "strings"

// vocabulary is what generated prose is made of: the words of support
// questions about software, so that previews and full-text search see text
// that looks like what they will really hold.
var vocabulary = strings.Fields(`the a to of and in is for with on that this it be as by from or
	can not your when how which what will are was you we our use using used
	deploy deployment cluster node pod service container image registry build pipeline
	config configuration setting option flag environment variable secret token key
	database table index query migration schema replica backup restore snapshot
	request response latency timeout retry error exception failure status code
	user account permission role policy access login session password reset
	invoice billing plan subscription upgrade downgrade refund payment card
	version release changelog upgrade install package dependency module library
	log metric trace span alert dashboard monitor threshold incident runbook
	network proxy certificate domain port firewall gateway endpoint webhook
	memory cpu disk storage volume quota limit scale autoscaling throughput`)

// words returns n words of pseudo-prose.
func (g *Generator) words(n int) string {
	var b strings.Builder
	b.Grow(n * 8)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[g.rng.IntN(len(vocabulary))])
	}
	return b.String()
}

// between returns a number in [lo, hi].
func (g *Generator) between(lo, hi int) int {
	return lo + g.rng.IntN(hi-lo+1)
}
