// jemalloc's settings for the node and the benchmarks (compiled into them only when they link
// jemalloc, CMakeLists.txt). Freed pages go back to the system after a second instead of ten, so
// the peak RSS stays that of glibc's malloc (bench/README.md "Job shapes, fourth part"), and a
// jemalloc thread of its own returns them, not the threads that free (their madvise calls and
// page faults were ~10% of a job's samples over HTTP).
extern "C" {
// Read by jemalloc at its first allocation; the name is jemalloc's, not ours.
extern const char* malloc_conf;
const char* malloc_conf = "dirty_decay_ms:1000,muzzy_decay_ms:0,background_thread:true";
}
