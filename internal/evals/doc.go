// Package evals holds the arithmetic Loupe applies to annotations: the
// retrieval metrics of a retriever's documents judged one by one, and the
// comparison of two groups of scores (a mean's interval, Welch's t-test).
package evals
