/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, for Wine versions
 * that lack it (Debian 12's Wine 8.0). Rust's standard library (1.78 and
 * later) imports ProcessPrng from that DLL to seed HashMap keys and the
 * like, so without it no Rust program for Windows starts under such a Wine.
 *
 * ProcessPrng fills a buffer from the system's cryptographic random number
 * generator; this one asks RtlGenRandom (advapi32's SystemFunction036),
 * which every Wine has, in pieces of at most 256 MiB since RtlGenRandom
 * takes a 32-bit length. Never ship this: it exists for scripts/wine/env.sh.
 */
#include <windows.h>

/* RtlGenRandom is exported by advapi32 under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
