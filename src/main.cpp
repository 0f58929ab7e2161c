#include <malloc.h>

#include "app/cli.hpp"

int main(int argc, char** argv)
{
    // glibc gives the top of the heap back to the kernel as soon as 128 KiB lie free there and
    // takes it again on the next allocation burst. A request parses several JSON documents
    // (RapidJSON takes 64 KiB chunks) and frees them all at its end, so under load the heap
    // shrank and grew with brk a few times per request (perf: brk 4.7 % of the forward's kernel
    // time). Trim only past 8 MiB of free top, and grow in 1 MiB steps: the pages a request
    // touches are reused by the next one, so the resident size stays that of the peak load.
    // Fixing the mmap threshold (which setting the others would freeze at 128 KiB) keeps
    // buffers up to 1 MiB on the heap instead of an mmap/munmap pair each.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    return stirgate::app::run_cli(argc, argv);
}
