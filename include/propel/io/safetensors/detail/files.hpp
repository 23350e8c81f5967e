// SPDX-License-Identifier: BSL-1.0
/// \file Files for propel::io: a file as a byte source, and a sink that replaces a file
/// atomically (temporary file in the same directory, flushed and synced, renamed over the
/// old one, directory synced). Not public.
#pragma once

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <propel/io/safetensors/detail/format.hpp>
#include <propel/io/safetensors/io_result.hpp>
#include <string>
#include <system_error>

#if __has_include(<unistd.h>) && __has_include(<fcntl.h>) && __has_include(<sys/stat.h>)
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#define PROPEL_IO_POSIX_FILES 1
#else
#define PROPEL_IO_POSIX_FILES 0
#endif

namespace propel::detail::safetensors {

inline std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

/// A file opened for reading. Its size is taken from the open file, once.
class file_source final : public byte_source {
 public:
  file_source() = default;
  ~file_source() override {
    if (f_ != nullptr) std::fclose(f_);
  }

  io_result open(std::filesystem::path const& path) {
    std::string const name = path.string();
#if defined(_WIN32)
    f_ = _wfopen(path.c_str(), L"rb");
#else
    f_ = std::fopen(path.c_str(), "rb");
#endif
    if (f_ == nullptr) return io_result::failure("cannot open " + name + ": " + errno_text(errno));
#if PROPEL_IO_POSIX_FILES
    struct stat st {};
    if (::fstat(::fileno(f_), &st) != 0) {
      return io_result::failure("cannot stat " + name + ": " + errno_text(errno));
    }
    if (!S_ISREG(st.st_mode)) return io_result::failure(name + " is not a regular file");
    size_ = static_cast<std::uint64_t>(st.st_size);
#else
    std::error_code ec;
    size_ = std::filesystem::file_size(path, ec);
    if (ec) return io_result::failure("cannot get the size of " + name + ": " + ec.message());
#endif
    return io_result::success();
  }

  [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }

  [[nodiscard]] bool read(std::uint64_t offset, void* dst, std::size_t n) override {
    if (offset > size_ || n > size_ - offset) {
      error_ = "read past the end of the file";
      return false;
    }
    if (offset != pos_ && !seek(offset)) {
      error_ = "cannot seek: " + errno_text(errno);
      return false;
    }
    std::size_t const got = std::fread(dst, 1, n, f_);
    pos_ = offset + got;
    if (got != n) {
      error_ = std::ferror(f_) ? "read error: " + errno_text(errno)
                               : std::string("the file ended early (was it changed while read?)");
      pos_ = std::numeric_limits<std::uint64_t>::max();
      return false;
    }
    return true;
  }
  [[nodiscard]] std::string error() const override { return error_; }

 private:
  bool seek(std::uint64_t offset) {
#if defined(_WIN32)
    return _fseeki64(f_, static_cast<__int64>(offset), SEEK_SET) == 0;
#elif PROPEL_IO_POSIX_FILES
    if (offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) return false;
    return ::fseeko(f_, static_cast<off_t>(offset), SEEK_SET) == 0;
#else
    if (offset > static_cast<std::uint64_t>(std::numeric_limits<long>::max())) return false;
    return std::fseek(f_, static_cast<long>(offset), SEEK_SET) == 0;
#endif
  }

  std::FILE* f_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t pos_ = 0;
  std::string error_;
};

/// Writes a new version of a file atomically: a reader (or a crash at any instant) sees the
/// old file or the new one, whole. open() creates "<dir>/.<name>.tmp-<pid>-<n>"; commit()
/// flushes and fsyncs it, renames it over the target and fsyncs the directory; destroying an
/// uncommitted sink removes the temporary file. A process killed mid-save leaves its
/// temporary file behind; the next save of the same file removes those whose process is gone.
/// Without POSIX, the sync steps and that clean-up are skipped.
class atomic_file_sink final : public byte_sink {
 public:
  atomic_file_sink() = default;
  ~atomic_file_sink() override { abandon(); }

  io_result open(std::filesystem::path const& target) {
    target_ = target;
    std::string const base = target.filename().string();
    if (base.empty() || base == "." || base == "..") {
      return io_result::failure("cannot save to " + target.string() + ": no file name");
    }
    static std::atomic<unsigned long> counter{0};
    std::string const prefix = "." + base + ".tmp-";
#if PROPEL_IO_POSIX_FILES
    std::string const pid = std::to_string(static_cast<long long>(::getpid()));
    remove_stale_temporaries(target.parent_path(), prefix);
#else
    std::string const pid = "0";
#endif
    // ".<name>.tmp-<pid>-", built once; each attempt appends its own number
    std::string const stem = prefix + pid + "-";
    for (int attempt = 0; attempt < 1000; ++attempt) {
      temp_ = target.parent_path() / (stem + std::to_string(counter.fetch_add(1)));
#if PROPEL_IO_POSIX_FILES
      int const fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0) {
        if (errno == EEXIST) continue;
        int const e = errno;
        temp_.clear();
        return io_result::failure("cannot create a file next to " + target.string() + ": " +
                                  errno_text(e));
      }
      struct stat st {};
      if (::stat(target.c_str(), &st) == 0) (void)::fchmod(fd, st.st_mode & 07777);
      f_ = ::fdopen(fd, "wb");
      if (f_ == nullptr) {
        int const e = errno;
        ::close(fd);
        abandon();
        return io_result::failure("cannot write " + temp_.string() + ": " + errno_text(e));
      }
#else
#if defined(_WIN32)
      f_ = _wfopen(temp_.c_str(), L"wbx");
#else
      f_ = std::fopen(temp_.string().c_str(), "wbx");
#endif
      if (f_ == nullptr) {
        if (std::filesystem::exists(temp_)) continue;
        temp_.clear();
        return io_result::failure("cannot create a file next to " + target.string());
      }
#endif
      return io_result::success();
    }
    temp_.clear();
    return io_result::failure("cannot create a temporary file next to " + target.string());
  }

#if PROPEL_IO_POSIX_FILES
  /// Removes "<prefix><pid>-<n>" files in dir left by saving processes that no longer run
  /// (killed mid-save). Files of this process and of live processes are left alone.
  static void remove_stale_temporaries(std::filesystem::path const& dir, std::string const& prefix) {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir.empty() ? std::filesystem::path(".") : dir, ec);
    for (; !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
      std::string const name = it->path().filename().string();
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      long long pid = 0;
      auto const* first = name.data() + prefix.size();
      auto const* last = name.data() + name.size();
      auto const [end, err] = std::from_chars(first, last, pid);
      if (err != std::errc{} || end == first || end == last || *end != '-' || pid <= 0 ||
          pid > std::numeric_limits<pid_t>::max() || pid == ::getpid()) {
        continue;
      }
      if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        std::error_code ignored;
        std::filesystem::remove(it->path(), ignored);
      }
    }
  }
#endif

  [[nodiscard]] bool write(void const* data, std::size_t n) override {
    if (f_ == nullptr) return false;
    if (std::fwrite(data, 1, n, f_) != n) {
      error_ = "cannot write " + temp_.string() + ": " + errno_text(errno);
      return false;
    }
    return true;
  }
  [[nodiscard]] std::string error() const override { return error_; }

  /// Makes the new content durable and puts it in place of the target.
  io_result commit() {
    if (f_ == nullptr) return io_result::failure("nothing to commit");
    if (std::fflush(f_) != 0) return fail("cannot write " + temp_.string());
#if PROPEL_IO_POSIX_FILES
    if (::fsync(::fileno(f_)) != 0) return fail("cannot sync " + temp_.string());
#endif
    std::FILE* f = f_;
    f_ = nullptr;
    if (std::fclose(f) != 0) return fail("cannot close " + temp_.string());
#if PROPEL_IO_POSIX_FILES
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
      return fail("cannot rename " + temp_.string() + " to " + target_.string());
    }
    temp_.clear();
    std::filesystem::path dir = target_.parent_path();
    if (dir.empty()) dir = ".";
    int const dfd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);  // some file systems cannot sync a directory; the rename stands
      ::close(dfd);
    }
#else
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec) {
      return fail("cannot rename " + temp_.string() + " to " + target_.string() + ": " +
                  ec.message());
    }
    temp_.clear();
#endif
    return io_result::success();
  }

 private:
  io_result fail(std::string what) {
    int const e = errno;
    abandon();
    return io_result::failure(std::move(what) + ": " + errno_text(e));
  }
  void abandon() noexcept {
    if (f_ != nullptr) {
      std::fclose(f_);
      f_ = nullptr;
    }
    if (!temp_.empty()) {
      std::error_code ec;
      std::filesystem::remove(temp_, ec);
      temp_.clear();
    }
  }

  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::FILE* f_ = nullptr;
  std::string error_;
};

}  // namespace propel::detail::safetensors

#undef PROPEL_IO_POSIX_FILES
