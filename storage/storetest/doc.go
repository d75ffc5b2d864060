// Package storetest checks a store against the contract of package
// storage (and sync.Store): round trips under concurrency, out-of-order
// and repeated updates, refusal of bad names and updates. Every
// implementation runs it from its tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			s := memory.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// It also offers Editor, a crdt.Doc that records the updates its edits
// produce, for tests that need realistic updates.
package storetest
