package bolt

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/quirehq/quire/storage/storetest"
)

func newRand(seed int) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 42)) }

// TestGroupCommit has many goroutines append at once, to many documents:
// they must share far fewer commits than there are appends.
func TestGroupCommit(t *testing.T) {
	ctx := t.Context()
	s := openT(t, Options{})
	const writers, rounds = 100, 5
	var start, wg sync.WaitGroup
	start.Add(1)
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			e := storetest.NewEditor(t, uint64(w+1))
			rng := newRand(w)
			start.Wait()
			for range rounds {
				u, err := e.Random(rng)
				if err == nil {
					err = s.Append(ctx, fmt.Sprint("doc-", w%10), u)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	start.Done()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("%d appends in %d commits", st.Appends, st.Commits)
	if st.Appends != writers*rounds {
		t.Fatalf("Stats.Appends = %d; want %d", st.Appends, writers*rounds)
	}
	if st.Commits > writers*rounds/5 {
		t.Fatalf("%d appends took %d commits: not batched", st.Appends, st.Commits)
	}
}

// TestFailedCommit fails one group commit: every append of the batch
// gets the error, none of them is stored, and the store goes on working.
func TestFailedCommit(t *testing.T) {
	ctx := t.Context()
	s := openT(t, Options{})
	injected := errors.New("injected commit failure")
	// The appends queue behind a held commit, so that they make one batch;
	// the commit after the held one fails.
	release := holdWriter(t, s, func(n int) error {
		if n == 1 {
			return injected
		}
		return nil
	})

	const n = 20
	updates := make([][]byte, n)
	for i := range n {
		updates[i] = storetest.NewEditor(t, uint64(i+1)).Append(t, fmt.Sprint(i))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Append(ctx, fmt.Sprint("doc-", i%4), updates[i]) })
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, injected) {
			t.Fatalf("append %d of the failed batch = %v; want the commit error", i, err)
		}
	}
	if st := s.Stats(); st.FailedCommits != 1 || st.Appends != 1 {
		t.Fatalf("stats %+v; want one failed commit, only the held append", st)
	}
	for d := range 4 {
		if u, err := s.Load(ctx, fmt.Sprint("doc-", d)); u != nil || err != nil {
			t.Fatalf("doc-%d after a failed commit: %x, %v; want nothing", d, u, err)
		}
	}
	// Retrying works (only one commit fails).
	for i := range n {
		wg.Go(func() { errs[i] = s.Append(ctx, fmt.Sprint("doc-", i%4), updates[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.Load(ctx, "doc-0")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := storetest.DocFrom(t, u)
	if got := len(doc.StateVector()); got != n/4 {
		t.Fatalf("doc-0 has %d clients after the retry; want %d", got, n/4)
	}
}
