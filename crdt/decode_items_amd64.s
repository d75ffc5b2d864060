//go:build amd64 && !purego

#include "textflag.h"

// func decodeItemsAMD64(in *byte, inLen int, items *Item, n int, clock uint64, client uint64, k int, mask, word uint64, arena *byte, arenaLen, arenaCap int) (count, taken int, next uint64, arenaEnd int)
//
// readItemsGo's loop (decode_items.go), step for step; see it for the
// format and the checks. An item is written only once every check of its
// header has passed: the origins go in as they are read and are cleared
// again if a later check fails (undo). The item layout (TestItemSize):
// 24 origin, 32 rightOrigin (client, clock: uint32 each), 40 client,
// 44 clock, 48 len32 (uint32), 52 info (uint16), 54 ckind (uint8).
//
// Registers: SI in, R8 inLen, DI the current item, R9 count, R11 p (the
// item's first byte), R12 clock, R13 the arena's length, R14 q (the read
// position), R15 the info byte, BX the length; AX, CX, DX, R10 and X0 are
// scratch.
// READ_ID reads the ID at R14: the client's prefix, then a clock of at
// most three bytes below the item's own (VarUint3), and leaves it packed in
// CX (client, then clock) with R14 past it; it jumps to fail otherwise.
#define READ_ID(fail) \
	MOVQ (SI)(R14*1), AX; \
	ANDQ mask+56(FP), AX; \
	CMPQ AX, word+64(FP); \
	JNE  fail; \
	ADDQ k+48(FP), R14; \
	MOVQ (SI)(R14*1), AX; \
	MOVQ AX, DX; \
	NOTQ DX; \
	ANDQ $0x808080, DX; \
	JEQ  fail; \
	LEAQ -1(DX), CX; \
	XORQ DX, CX; \
	ANDQ CX, AX; \
	MOVQ AX, CX; \
	ANDQ $0x7f, CX; \
	MOVQ AX, R10; \
	SHRQ $1, R10; \
	ANDQ $0x3f80, R10; \
	ORQ  R10, CX; \
	SHRQ $2, AX; \
	ANDQ $0x1fc000, AX; \
	ORQ  AX, CX; \
	CMPQ CX, R12; \
	JCC  fail; \
	BSFQ DX, DX; \
	INCQ DX; \
	SHRQ $3, DX; \
	ADDQ DX, R14; \
	SHLQ $32, CX; \
	ORQ  client+40(FP), CX

TEXT ·decodeItemsAMD64(SB), NOSPLIT, $0-128
	MOVQ in+0(FP), SI
	MOVQ inLen+8(FP), R8
	MOVQ items+16(FP), DI
	MOVQ clock+32(FP), R12
	MOVQ arenaLen+80(FP), R13
	XORQ R9, R9
	XORQ R11, R11

loop:
	CMPQ R9, n+24(FP)
	JGE  done
	MOVQ R8, AX
	SUBQ R11, AX
	CMPQ AX, $32 // minFastItemInput
	JLT  done
	MOVQ R12, AX
	SHRQ $32, AX
	JNE  done

	// The info byte: an item with a left origin, no parent named, holding
	// a string (4) or deleted content (1).
	MOVBQZX (SI)(R11*1), R15
	MOVQ    R15, AX
	ANDQ    $0xa0, AX
	CMPQ    AX, $0x80
	JNE     done
	MOVQ    R15, AX
	ANDQ    $0x1f, AX
	CMPQ    AX, $4
	JEQ     origin
	CMPQ    AX, $1
	JNE     done

origin:
	LEAQ    1(R11), R14
	READ_ID(done)
	MOVQ    CX, 24(DI)
	TESTQ   $0x40, R15
	JEQ     length
	READ_ID(undo)
	MOVQ    CX, 32(DI)

length:
	// The length: one or two bytes, not zero.
	MOVQ (SI)(R14*1), AX
	MOVQ AX, BX
	ANDQ $0xff, BX
	INCQ R14
	CMPQ BX, $0x80
	JCS  lengthok
	TESTQ $0x8000, AX
	JNE  undo
	ANDQ $0x7f, BX
	SHRQ $1, AX
	ANDQ $0x3f80, AX
	ORQ  AX, BX
	INCQ R14

lengthok:
	TESTQ BX, BX
	JEQ   undo
	MOVQ  R15, AX
	ANDQ  $0x1f, AX
	CMPQ  AX, $4
	JNE   write

	// A string: copied to the arena in blocks of 16 bytes, which both the
	// input and the arena must have room for; every byte below 0x80.
	CMPQ BX, $256 // maxArenaString
	JHI  undo
	LEAQ 15(BX), CX
	ANDQ $-16, CX
	MOVQ R8, AX
	SUBQ R14, AX
	CMPQ AX, CX
	JLT  undo
	MOVQ arenaCap+88(FP), AX
	SUBQ R13, AX
	CMPQ AX, CX
	JLT  undo
	LEAQ (SI)(R14*1), AX
	MOVQ arena+72(FP), DX
	ADDQ R13, DX
	MOVQ BX, CX

copy:
	MOVOU    (AX), X0
	PMOVMSKB X0, R10
	MOVOU    X0, (DX)
	CMPQ     CX, $16
	JLS      lastblock
	TESTQ    R10, R10
	JNE      undo
	ADDQ     $16, AX
	ADDQ     $16, DX
	SUBQ     $16, CX
	JMP      copy

lastblock:
	// Only the string's CX bytes of the last block count.
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	ANDQ  AX, R10
	JNE   undo
	ADDQ  BX, R13
	ADDQ  BX, R14

write:
	MOVQ client+40(FP), AX
	MOVL AX, 40(DI)
	MOVL R12, 44(DI)
	MOVL BX, 48(DI)
	// info: flagOrigin (0x40), flagRightOrigin (0x80) from the info byte's
	// 0x40, flagCountable (2) for a string; ckind: the content kind.
	MOVQ R15, AX
	ANDQ $0x40, AX
	SHLQ $1, AX
	ORQ  $0x40, AX
	MOVQ R15, CX
	ANDQ $0x1f, CX
	CMPQ CX, $4
	JNE  flagsdone
	ORQ  $2, AX

flagsdone:
	MOVW AX, 52(DI)
	MOVB CX, 54(DI)
	ADDQ BX, R12
	INCQ R9
	ADDQ $56, DI
	MOVQ R14, R11
	JMP  loop

undo:
	MOVQ $0, 24(DI)
	MOVQ $0, 32(DI)

done:
	MOVQ R9, count+96(FP)
	MOVQ R11, taken+104(FP)
	MOVQ R12, next+112(FP)
	MOVQ R13, arenaEnd+120(FP)
	RET
