package bolt

import (
	"testing"

	"github.com/quirehq/quire/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }
