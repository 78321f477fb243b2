// expect: CE
// escape: none
// why: a few bytes of source assemble 24 MiB of zeros into the binary (.fill); every variant of the constant would keep another such file in the cache. A binary over CompileOptions.max_binary_bytes (16 MiB) must be refused as CE with the reason, before it is hashed or cached.
asm(".section .rodata\n.fill 24*1024*1024, 1, 0\n.previous\n");

int main() { return 0; }
