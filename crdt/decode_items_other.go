//go:build !amd64 || purego

package crdt

// haveItemsAsm says whether readItemsAsm has an assembly loop behind it.
const haveItemsAsm = false

// readItemsAsm is readItemsGo where there is no assembly loop.
func (ar *decodeArena) readItemsAsm(b []byte, slab []Item, clock uint64) (count, taken int, next uint64) {
	return ar.readItemsGo(b, slab, clock)
}
