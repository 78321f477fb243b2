// expect: AC|RE
// escape: none
// why: 10000 sleeping pthreads try to exhaust the host's task limit; creation must fail early (pids/nproc limit), so ESCAPED (all 10000 created) is never printed.
#include <pthread.h>
#include <unistd.h>
#include <cstdio>

static void* sleeper(void*) {
    for (;;) sleep(1000);
    return nullptr;
}

int main() {
    int created = 0;
    for (int i = 0; i < 10000; ++i) {
        pthread_t t;
        if (pthread_create(&t, nullptr, sleeper, nullptr) == 0) ++created;
    }
    std::fprintf(stderr, "created %d threads\n", created);
    if (created == 10000) std::printf("ESCAPED %d\n", created);
    return 0;  // exit_group takes the sleeping threads down
}
