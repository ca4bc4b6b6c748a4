/* pkey-vm-selftest: proves that the CPU (real or emulated by tools/pkey-vm)
 * enforces memory protection keys the way libsmem's Guard::pkey relies on.
 *
 *   pkey-vm-selftest          run every check; exit 0 only if all hold
 *   pkey-vm-selftest --probe  only pkey_alloc + pkey_free; exit 0 if they work
 *
 * Checks (each prints "ok" or "FAIL"):
 *   1. pkey_alloc gives a key and pkey_mprotect tags a page with it.
 *   2. With the key's access disabled (pkey_set), a read faults with SIGSEGV,
 *      si_code == SEGV_PKUERR and si_pkey == the key.
 *   3. RDPKRU shows the access-disable bit; after WRPKRU clears it the read
 *      succeeds and sees the data.
 *   4. With only write disabled, a read works and a write faults (SEGV_PKUERR).
 *   5. PKRU is per thread: a second thread that starts with the key's access
 *      disabled faults on a read while the first thread reads the same page;
 *      and the other way round.
 * Lines starting with "info:" report behaviour worth knowing, not checks.
 *
 * Built by `tools/pkey-vm --selftest` (gcc -O2 -pthread); plain C11, glibc. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char* what)
{
  printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  fflush(stdout);
  if (!ok)
    failures++;
}

static inline uint32_t rdpkru(void)
{
  uint32_t eax, edx;
  __asm__ volatile(".byte 0x0f,0x01,0xee" : "=a"(eax), "=d"(edx) : "c"(0));
  return eax;
}

static inline void wrpkru(uint32_t pkru)
{
  __asm__ volatile(".byte 0x0f,0x01,0xef" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}

/* Per-thread fault catching: sigsetjmp before the access, the SIGSEGV handler
 * records si_code/si_pkey and siglongjmps back. */
static __thread sigjmp_buf fault_jmp;
static __thread volatile sig_atomic_t fault_armed;
static __thread volatile int fault_code;
static __thread volatile int fault_pkey;
static __thread volatile uint32_t fault_pkru;

static void on_segv(int sig, siginfo_t* si, void* ctx)
{
  (void)ctx;
  if (!fault_armed) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  fault_armed = 0;
  fault_code = si->si_code;
  fault_pkey = si->si_code == SEGV_PKUERR ? (int)si->si_pkey : -1;
  fault_pkru = rdpkru();
  siglongjmp(fault_jmp, 1);
}

/* Returns 1 if reading *p faulted, 0 if it read; *out gets the value read. */
static int try_read(volatile const unsigned char* p, unsigned char* out)
{
  fault_code = 0;
  fault_pkey = -1;
  if (sigsetjmp(fault_jmp, 1) == 0) {
    fault_armed = 1;
    unsigned char v = *p;
    fault_armed = 0;
    *out = v;
    return 0;
  }
  return 1;
}

static int try_write(volatile unsigned char* p, unsigned char v)
{
  fault_code = 0;
  fault_pkey = -1;
  if (sigsetjmp(fault_jmp, 1) == 0) {
    fault_armed = 1;
    *p = v;
    fault_armed = 0;
    return 0;
  }
  return 1;
}

static int pkey;
static unsigned char* page;
static pthread_barrier_t barrier;
static uint32_t ad_bit, wd_bit;

struct thread_result {
  uint32_t start_pkru;
  int faulted_while_main_reads;
  int fault_code;
  int fault_pkey;
  int read_after_enable;
  unsigned char value;
};

static void* second_thread(void* arg)
{
  struct thread_result* r = arg;
  unsigned char v = 0;
  r->start_pkru = rdpkru();
  pthread_barrier_wait(&barrier); /* 1: main has enabled access for itself */
  r->faulted_while_main_reads = try_read(page, &v);
  r->fault_code = fault_code;
  r->fault_pkey = fault_pkey;
  pthread_barrier_wait(&barrier); /* 2: main has read successfully */
  pthread_barrier_wait(&barrier); /* 3: main has disabled its access */
  wrpkru(rdpkru() & ~(ad_bit | wd_bit));
  r->read_after_enable = !try_read(page, &v);
  r->value = v;
  pthread_barrier_wait(&barrier); /* 4: main may now check that it faults */
  pthread_barrier_wait(&barrier); /* 5: main done */
  return NULL;
}

static void* inherit_thread(void* arg)
{
  *(uint32_t*)arg = rdpkru();
  return NULL;
}

static int probe(void)
{
  int k = pkey_alloc(0, 0);
  if (k < 0) {
    printf("pkey-vm-probe: pkey_alloc failed: %s\n", strerror(errno));
    return 1;
  }
  pkey_free(k);
  printf("pkey-vm-probe: pkey_alloc ok (key %d, PKRU 0x%08x)\n", k, rdpkru());
  return 0;
}

int main(int argc, char** argv)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && strcmp(argv[1], "--probe") == 0)
    return probe();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);

  long pagesz = sysconf(_SC_PAGESIZE);
  page = mmap(NULL, (size_t)pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  memset(page, 0x5a, (size_t)pagesz);

  /* 1 */
  pkey = pkey_alloc(0, 0);
  if (pkey < 0) {
    printf("FAIL: pkey_alloc: %s\n", strerror(errno));
    return 1;
  }
  printf("info: pkey_alloc -> key %d, PKRU 0x%08x\n", pkey, rdpkru());
  ad_bit = 1u << (2 * pkey);
  wd_bit = 2u << (2 * pkey);
  check(pkey_mprotect(page, (size_t)pagesz, PROT_READ | PROT_WRITE, pkey) == 0,
        "pkey_mprotect tags the page with the key");

  /* 2 */
  unsigned char v = 0;
  check(pkey_set(pkey, PKEY_DISABLE_ACCESS) == 0, "pkey_set(PKEY_DISABLE_ACCESS)");
  int faulted = try_read(page, &v);
  check(faulted, "read with access disabled faults");
  check(fault_code == SEGV_PKUERR, "fault si_code is SEGV_PKUERR");
  check(fault_pkey == pkey, "fault si_pkey is the key");
  printf("info: PKRU inside the SIGSEGV handler was 0x%08x (after siglongjmp now 0x%08x)\n", fault_pkru,
         rdpkru());

  /* 3: siglongjmp out of the handler leaves the handler's PKRU in place, so
   * set it explicitly before each step. */
  check(pkey_set(pkey, PKEY_DISABLE_ACCESS) == 0 && (rdpkru() & ad_bit),
        "RDPKRU shows the access-disable bit");
  wrpkru(rdpkru() & ~(ad_bit | wd_bit));
  check(pkey_get(pkey) == 0, "pkey_get is 0 after WRPKRU clears the bits");
  faulted = try_read(page, &v);
  check(!faulted && v == 0x5a, "read allowed after WRPKRU re-enables access");
  check(pkey_set(pkey, PKEY_DISABLE_ACCESS) == 0 && pkey_set(pkey, 0) == 0 && !try_read(page, &v) &&
            v == 0x5a,
        "read allowed after pkey_set(key, 0)");

  /* 4 */
  check(pkey_set(pkey, PKEY_DISABLE_WRITE) == 0, "pkey_set(PKEY_DISABLE_WRITE)");
  check(!try_read(page, &v) && v == 0x5a, "read allowed with only write disabled");
  check(pkey_set(pkey, PKEY_DISABLE_WRITE) == 0 && try_write(page, 0x11) && fault_code == SEGV_PKUERR,
        "write with write disabled faults with SEGV_PKUERR");
  pkey_set(pkey, 0);
  check(!try_write(page, 0x5a), "write allowed after pkey_set(key, 0)");

  /* info: does a new thread inherit its creator's PKRU? */
  uint32_t child_pkru = 0;
  pthread_t t;
  pthread_create(&t, NULL, inherit_thread, &child_pkru);
  pthread_join(t, NULL);
  printf("info: creator PKRU 0x%08x, new thread's PKRU 0x%08x (%s)\n", rdpkru(), child_pkru,
         child_pkru == rdpkru() ? "inherited" : "not inherited");

  /* 5: the second thread is created while access is disabled, so it starts
   * disabled whatever the inheritance rule is (checked below). */
  struct thread_result r;
  memset(&r, 0, sizeof r);
  pthread_barrier_init(&barrier, NULL, 2);
  pkey_set(pkey, PKEY_DISABLE_ACCESS);
  pthread_create(&t, NULL, second_thread, &r);
  pkey_set(pkey, 0);
  check(!try_read(page, &v) && v == 0x5a, "thread 1 reads with access enabled");
  pthread_barrier_wait(&barrier); /* 1 */
  pthread_barrier_wait(&barrier); /* 2 */
  check(r.start_pkru & ad_bit, "thread 2 starts with the key's access disabled");
  check(pkey_set(pkey, 0) == 0 && !try_read(page, &v) && v == 0x5a,
        "thread 1 still reads after thread 2 faulted");
  check(r.faulted_while_main_reads && r.fault_code == SEGV_PKUERR && r.fault_pkey == pkey,
        "thread 2 faults (SEGV_PKUERR) while thread 1 has access");
  pkey_set(pkey, PKEY_DISABLE_ACCESS);
  pthread_barrier_wait(&barrier); /* 3 */
  pthread_barrier_wait(&barrier); /* 4 */
  check(r.read_after_enable && r.value == 0x5a, "thread 2 reads after its own WRPKRU");
  pkey_set(pkey, PKEY_DISABLE_ACCESS);
  faulted = try_read(page, &v);
  check(faulted && fault_code == SEGV_PKUERR, "thread 1 faults while thread 2 has access");
  pthread_barrier_wait(&barrier); /* 5 */
  pthread_join(t, NULL);

  pkey_set(pkey, 0);
  check(pkey_mprotect(page, (size_t)pagesz, PROT_READ | PROT_WRITE, 0) == 0 && pkey_free(pkey) == 0,
        "page back to key 0 and pkey_free");

  /* info: memfd_secret, which libsmem may use next to pkeys. */
  long fd = syscall(SYS_memfd_secret, 0);
  if (fd >= 0) {
    printf("info: memfd_secret works\n");
    close((int)fd);
  } else {
    printf("info: memfd_secret failed: %s\n", strerror(errno));
  }

  printf("%s: %d failure(s)\n", failures ? "pkey-vm-selftest FAILED" : "pkey-vm-selftest passed", failures);
  return failures ? 1 : 0;
}
