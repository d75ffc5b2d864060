package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/quirehq/quire/storage/memory"
	"github.com/quirehq/quire/storage/storetest"
)

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	var id atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		w := id.Add(1)
		e := storetest.NewEditor(b, w)
		rng := rand.New(rand.NewPCG(w, 1))
		name := fmt.Sprint("doc-", w%64)
		for pb.Next() {
			u, err := e.Random(rng)
			if err == nil {
				err = s.Append(ctx, name, u)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	e := storetest.NewEditor(b, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	for range 10_000 {
		u, err := e.Random(rng)
		if err == nil {
			err = s.Append(ctx, "d", u)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := s.Load(ctx, "d"); err != nil {
			b.Fatal(err)
		}
	}
}
