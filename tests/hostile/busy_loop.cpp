// expect: TLE
// limits: time=1
// escape: none
// why: spins forever to burn the evaluator's CPU; the CPU limit must stop it (TLE).
int main() {
    volatile unsigned long spin = 0;  // volatile: the loop cannot be optimized away
    for (;;) ++spin;
}
