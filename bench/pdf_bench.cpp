// PDF extraction benchmark, run by `scripts/bench.sh pdf` (see bench/RESULTS.md).
//
//   pdf_bench run [--runs N] [--out FILE] PDF...   quality and speed report (Markdown)
//   pdf_bench dump PDF [--markdown] [--no-outline] what extract_structure() finds
//   pdf_bench extract PDF                          one extraction (the timed child)
//
// For each PDF: the share of its top-level outline titles that come out as section names,
// and on the right start page (the outline's own destinations, resolved by pdftohtml, are
// the expected answer); then N alternating runs of our extraction and of `pdftotext` on
// the same file, each in a fresh child process, for wall time, CPU time and peak memory
// (ru_maxrss from wait4). The ratios to pdftotext are the figures; targets are at most
// 1.5x its time and 2x its memory, and at least 90 % of titles on the right page.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "config/errors.hpp"
#include "pdf/extractor.hpp"
#include "tests/pdf/outline_reference.hpp"

namespace {

using jobserver::pdf::document_structure;

struct run_stats {
  double wall_s = 0, cpu_s = 0;
  long max_rss_kb = 0;
};

/// Runs argv in a child process (stdout and stderr to /dev/null) and measures it.
run_stats measure(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    std::FILE* null = std::fopen("/dev/null", "w");
    if (null) dup2(fileno(null), 1), dup2(fileno(null), 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) < 0) throw std::runtime_error("wait4 failed");
  const auto t1 = std::chrono::steady_clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed on " + argv.back());
  }
  run_stats s;
  s.wall_s = std::chrono::duration<double>(t1 - t0).count();
  s.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  s.max_rss_kb = usage.ru_maxrss;
  return s;
}

/// Median wall and CPU time, largest peak memory.
run_stats summarize(std::vector<run_stats> runs) {
  auto median = [&](auto field) {
    std::vector<double> v;
    v.reserve(runs.size());
    for (const auto& r : runs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  run_stats s;
  s.wall_s = median(&run_stats::wall_s);
  s.cpu_s = median(&run_stats::cpu_s);
  for (const auto& r : runs) s.max_rss_kb = std::max(s.max_rss_kb, r.max_rss_kb);
  return s;
}

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find /proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

struct file_result {
  std::string name;
  int pages = 0, sections = 0;
  std::string method;
  jobserver::pdf::test::outline_score score, by_titles, by_headings;
  run_stats ours, baseline;
};

int cmd_run(const std::vector<std::string>& files, int runs, const std::string& out_file) {
  const std::string self = self_path();
  std::vector<file_result> results;
  for (const auto& file : files) {
    file_result r;
    r.name = base_name(file);
    std::cerr << "pdf_bench: " << r.name << ": quality\n";
    const auto reference = jobserver::pdf::test::reference_outline(file);
    const document_structure doc = jobserver::pdf::extract_structure(file, {});
    r.pages = doc.page_count;
    r.sections = static_cast<int>(doc.sections.size());
    r.method = doc.method;
    r.score = jobserver::pdf::test::score_outline(reference, doc);
    r.by_titles = jobserver::pdf::test::score_outline(
        reference, jobserver::pdf::test::extract_without_destinations(
                       file, jobserver::pdf::test::outline_use::titles_only));
    r.by_headings =
        jobserver::pdf::test::score_outline(reference,
                                            jobserver::pdf::test::extract_without_destinations(
                                                file, jobserver::pdf::test::outline_use::ignored),
                                            true);
    std::vector<run_stats> ours, baseline;
    for (int i = 0; i < runs; ++i) {
      std::cerr << "pdf_bench: " << r.name << ": run " << i + 1 << "/" << runs << "\n";
      ours.push_back(measure({self, "extract", file}));
      baseline.push_back(measure({"pdftotext", file, "/dev/null"}));
    }
    r.ours = summarize(ours);
    r.baseline = summarize(baseline);
    results.push_back(r);
  }

  std::ostringstream md;
  md << "| PDF | pages | outline titles | as section names | on the right page | "
        "same, by title matching alone | same, by headings alone | ours | "
        "pdftotext | time ratio (wall / CPU) | our peak memory | pdftotext's | memory ratio |\n"
     << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  bool time_ok = true, memory_ok = true, quality_ok = true;
  for (const auto& r : results) {
    const double wall_ratio = r.ours.wall_s / r.baseline.wall_s;
    const double cpu_ratio = r.ours.cpu_s / r.baseline.cpu_s;
    const double mem_ratio =
        static_cast<double>(r.ours.max_rss_kb) / static_cast<double>(r.baseline.max_rss_kb);
    const double named = r.score.titles ? 100.0 * r.score.named / r.score.titles : 0;
    const double on_page = r.score.titles ? 100.0 * r.score.named_on_page / r.score.titles : 0;
    auto share = [&](const jobserver::pdf::test::outline_score& s) {
      return r.score.titles ? 100.0 * s.named_on_page / r.score.titles : 0.0;
    };
    time_ok = time_ok && wall_ratio <= 1.5;
    memory_ok = memory_ok && mem_ratio <= 2.0;
    quality_ok = quality_ok && on_page >= 90.0;
    md << "| " << r.name << " | " << r.pages << " | " << r.score.titles << " | " << fixed(named, 0)
       << " % | " << fixed(on_page, 0) << " % | " << fixed(share(r.by_titles), 0) << " % | "
       << fixed(share(r.by_headings), 0) << " % | " << fixed(r.ours.wall_s, 2) << " s | "
       << fixed(r.baseline.wall_s, 2) << " s | " << fixed(wall_ratio, 2) << "x / "
       << fixed(cpu_ratio, 2) << "x | " << fixed(static_cast<double>(r.ours.max_rss_kb) / 1024.0, 1)
       << " MiB | " << fixed(static_cast<double>(r.baseline.max_rss_kb) / 1024.0, 1) << " MiB | "
       << fixed(mem_ratio, 2) << "x |\n";
  }
  md << "\nTargets: time at most 1.5x pdftotext's (wall, median of " << runs
     << " alternating runs): " << (time_ok ? "met" : "**missed**")
     << "; peak memory at most 2x: " << (memory_ok ? "met" : "**missed**")
     << "; at least 90 % of top-level outline titles as sections on the right page: "
     << (quality_ok ? "met" : "**missed**") << ".\n";
  std::cout << md.str();
  if (!out_file.empty()) std::ofstream(out_file) << md.str();
  return 0;
}

int cmd_dump(const std::string& file, bool markdown, bool no_outline) {
  using jobserver::pdf::test::outline_use;
  const auto doc =
      no_outline ? jobserver::pdf::test::extract_without_destinations(file, outline_use::ignored)
                 : jobserver::pdf::extract_structure(file, {});
  std::cout << "title: " << doc.title << "\npages: " << doc.page_count << "\nmethod: " << doc.method
            << "\nsections: " << doc.sections.size() << "\n";
  for (const auto& s : doc.sections) {
    std::cout << "\n#" << s.number << " [" << s.page_start << "-" << s.page_end << "] " << s.name
              << "  (" << s.markdown.size() << " bytes)\n  " << s.description << "\n";
    if (markdown) std::cout << "----\n" << s.markdown << "\n----\n";
  }
  return 0;
}

int usage() {
  std::cerr << "usage: pdf_bench run [--runs N] [--out FILE] PDF...\n"
               "       pdf_bench dump PDF [--markdown] [--no-outline]\n"
               "       pdf_bench extract PDF\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  try {
    const std::string cmd = args[0];
    if (cmd == "extract" && args.size() == 2) {
      const auto doc = jobserver::pdf::extract_structure(args[1], {});
      std::printf("%zu sections\n", doc.sections.size());
      return 0;
    }
    if (cmd == "dump" && args.size() >= 2) {
      const auto has = [&](const char* flag) {
        return std::find(args.begin() + 2, args.end(), flag) != args.end();
      };
      return cmd_dump(args[1], has("--markdown"), has("--no-outline"));
    }
    if (cmd == "run") {
      int runs = 5;
      std::string out;
      std::vector<std::string> files;
      for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--runs" && i + 1 < args.size())
          runs = std::max(1, std::stoi(args[++i]));
        else if (args[i] == "--out" && i + 1 < args.size())
          out = args[++i];
        else
          files.push_back(args[i]);
      }
      if (files.empty()) return usage();
      return cmd_run(files, runs, out);
    }
    return usage();
  } catch (const jobserver::app_error& e) {
    std::cerr << "pdf_bench: " << jobserver::to_string(e.code()) << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "pdf_bench: " << e.what() << "\n";
    return 1;
  }
}
