package query

import "slices"

// KnownNames lists the names a filter of grain ("span", "trace" or
// "session") can start with besides a span's attribute keys, sorted, for
// a filter box to suggest as it is typed.
func KnownNames(grain string) []string {
	switch grain {
	case "trace":
		return traceNames.known()
	case "session":
		return sessionNames.known()
	}
	return slices.Clone(knownNames)
}

// AnnotationAccessor is the name under which a grain's filter reads its own
// annotations (annotations['name'], trace_annotations['name'], …).
func AnnotationAccessor(grain string) string {
	switch grain {
	case "trace":
		return traceNames.annotations
	case "session":
		return sessionNames.annotations
	}
	return rootAnnotations
}
