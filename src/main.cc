// Placeholder entry point until the runtime lands; replaced in the runtime commit.
#include <cstdio>
int main() { std::puts("sipshard " SIPSHARD_VERSION); return 0; }
