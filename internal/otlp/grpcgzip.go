package otlp

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	grpcgzip "google.golang.org/grpc/encoding/gzip" // registered first, so that the registration below replaces it
	"google.golang.org/grpc/status"
)

// gRPC inflates a compressed message whole, up to the message limit,
// before any handler runs: 16 small compressed exports at once could hold
// 16 times the limit with nothing to refuse them. So this server leaves
// gzip messages compressed on their way in, and the export handler
// inflates them itself, counting what they take against the Budget as
// the HTTP receiver does with a compressed body.
//
// gRPC looks compressors up by name in one registry for the process, so
// the gzip registered here serves any gRPC client in the process too: it
// compresses as gRPC's own does, and gives compressed messages back as
// they are. Loupe's server answers uncompressed (see export), so no
// client of this process is handed a message it cannot read.
func init() {
	encoding.RegisterCompressor(gzipPassthrough{encoding.GetCompressor(grpcgzip.Name)})
}

// gzipPassthrough compresses with gRPC's gzip and decompresses nothing.
type gzipPassthrough struct{ encoding.Compressor }

func (gzipPassthrough) Decompress(r io.Reader) (io.Reader, error) { return r, nil }

// isGzip reports whether a message was left compressed: a gzip stream
// opens with 1f 8b, which no ExportTraceServiceRequest can (0x1f is field
// 3 with wire type 7, which does not exist).
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// inflateStatus answers what inflating a message met, as gRPC's own
// decompression would: too large is permanent, too many at once is
// retryable, a broken stream is the client's.
func inflateStatus(err error) error {
	var re *requestError
	switch {
	case errors.Is(err, errOverBudget):
		return failBodiesAtLimit.grpc.Err()
	case errors.As(err, &re) && re.status == http.StatusRequestEntityTooLarge:
		return status.Error(codes.ResourceExhausted, fmt.Sprintf("grpc: %s", re.msg))
	case errors.As(err, &re):
		return status.Error(codes.InvalidArgument, re.msg)
	}
	return status.Error(codes.InvalidArgument, err.Error())
}
