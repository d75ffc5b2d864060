package crdt

import "slices"

// Deleting text, or merging concurrent formatting, can leave format items
// that no longer do anything: two starts of the same attribute with no
// content between them, or a format that sets what is already in force.
// Yjs removes such items right after local deletions and, after remote
// changes, in a local clean-up transaction of its own. Those removals are
// ordinary deletions that travel to other replicas, so they must match
// Yjs's exactly, including where its heuristics stop short.

// cleanupFormattingGap removes redundant format items in the run of
// invisible items that starts at start and ends before the next visible
// content. startAttrs are the attributes in force at start; currAttrs are
// those in force at curr (the position an edit ended at), which is updated
// when a removed item had set one of them.
func cleanupFormattingGap(txn *Transaction, start, curr *Item, startAttrs, currAttrs *attrMap) int {
	// The last format item of each key in the gap is the one that decides
	// the value after the gap.
	end := start
	var endFormats map[string]*contentFormat
	for end != nil && (!end.countable() || end.deleted()) {
		if !end.deleted() {
			if cf, ok := end.format(); ok {
				if endFormats == nil {
					endFormats = make(map[string]*contentFormat)
				}
				endFormats[cf.key] = cf
			}
		}
		end = end.right
	}
	cleanups := 0
	reachedCurr := false
	for ; start != end; start = start.right {
		if curr == start {
			reachedCurr = true
		}
		if start.deleted() {
			continue
		}
		cf, ok := start.format()
		if !ok {
			continue
		}
		value := cf.val()
		startValue, _ := startAttrs.get(cf.key)
		if endFormats[cf.key] != cf || jsStrictEqual(startValue, value) {
			// Overridden later in the gap, or setting what was already
			// in force.
			start.delete(txn)
			cleanups++
			if cv, _ := currAttrs.get(cf.key); !reachedCurr && jsStrictEqual(cv, value) && !jsStrictEqual(startValue, value) {
				if startValue == nil {
					currAttrs.del(cf.key)
				} else {
					currAttrs.set(cf.key, startValue)
				}
			}
		}
		if !reachedCurr && !start.deleted() {
			currAttrs.apply(cf)
		}
	}
	return cleanups
}

// cleanupContextlessFormattingGap removes, in the gap of invisible items
// around item, every format item that a later one for the same key
// overrides. It needs no knowledge of the attributes in force.
func cleanupContextlessFormattingGap(txn *Transaction, item *Item) {
	for item != nil && item.right != nil && (item.right.deleted() || !item.right.countable()) {
		item = item.right
	}
	var seen map[string]bool
	for ; item != nil && (item.deleted() || !item.countable()); item = item.left {
		if item.deleted() {
			continue
		}
		cf, ok := item.format()
		if !ok {
			continue
		}
		if seen[cf.key] {
			item.delete(txn)
		} else {
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[cf.key] = true
		}
	}
}

// cleanupTextFormatting is Yjs's "full" clean-up of a text. It walks the
// whole text computing the attributes in force and cleans the gap before
// each content item. (As in Yjs, only a gap at the very start of the text
// can actually change: later gaps are started at the preceding content
// item, which ends the gap at once.)
func cleanupTextFormatting(txn *Transaction, b *branch) int {
	res := 0
	start, end := b.start, b.start
	var startAttrs, currAttrs attrMap
	for ; end != nil; end = end.right {
		if end.deleted() {
			continue
		}
		if cf, ok := end.format(); ok {
			currAttrs.apply(cf)
			continue
		}
		res += cleanupFormattingGap(txn, start, end, &startAttrs, &currAttrs)
		startAttrs = currAttrs.clone()
		start = end
	}
	return res
}

// cleanupFormattingAfterTransaction runs after a remote transaction that
// changed formatted text. Texts that received a format item, or lost one,
// get the full clean-up; for other deletions in formatted text the gap
// around each deleted item is cleaned. The removals happen in a new local
// transaction, which is cleaned up (and sent) after txn, as in Yjs.
func cleanupFormattingAfterTransaction(txn *Transaction) {
	d := txn.doc
	s := d.store
	var full []*branch
	inFull := make(map[*branch]bool)
	addFull := func(b *branch) {
		if !inFull[b] {
			inFull[b] = true
			full = append(full, b)
		}
	}
	// Which texts received format items does not depend on the order
	// clients are visited in; a fixed order keeps runs reproducible.
	clients := make([]uint64, 0, len(txn.before))
	for _, cc := range txn.before {
		clients = append(clients, cc.client)
	}
	slices.Sort(clients)
	for _, client := range clients {
		before, after := txn.beforeClock(client), s.state(client)
		if after <= before {
			continue
		}
		s.iterate(txn, client, before, after-before, func(it *Item) {
			if it.isGC() || it.deleted() {
				return
			}
			if _, ok := it.format(); ok {
				addFull(s.parentOf(it))
			}
		})
	}
	d.transact(nil, true, func(t *Transaction) {
		// Deleted items are visited in Yjs's order (clients in the order
		// they first had a deletion, clocks ascending): once a text is due
		// for the full clean-up its gaps are no longer cleaned one by one,
		// so the order decides which items the contextless clean-up sees.
		for _, client := range txn.deleteOrder {
			state := s.state(client)
			for _, r := range txn.deleteSet[client] {
				if r.clock >= state {
					break
				}
				s.iterate(txn, client, r.clock, min(r.len, state-r.clock), func(it *Item) {
					p := s.parentOf(it)
					if p == nil || !p.hasFormatting || inFull[p] {
						return
					}
					if _, ok := it.format(); ok {
						addFull(p)
					} else {
						cleanupContextlessFormattingGap(t, it)
					}
				})
			}
		}
		for _, b := range full {
			cleanupTextFormatting(t, b)
		}
	})
}
