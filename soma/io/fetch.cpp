#include "soma/io/fetch.h"

#include <curl/curl.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "soma/core/error.h"

namespace soma::io {
namespace {

struct Transfer {
  std::FILE* file = nullptr;
  const Progress* progress = nullptr;
};

size_t write_chunk(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  return std::fwrite(data, size, count, transfer->file) * size;
}

int report(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (*transfer->progress) (*transfer->progress)(int64_t(done), int64_t(total));
  return 0;
}

// True when `source` names a URL (has a scheme such as http://).
bool is_url(const std::string& source) { return source.find("://") != std::string::npos; }

}  // namespace

void fetch(const std::string& source, const std::string& destination, const Progress& progress) {
  if (!is_url(source)) {
    std::error_code error;
    std::filesystem::copy_file(source, destination,
                               std::filesystem::copy_options::overwrite_existing, error);
    SOMA_CHECK(!error, source, ": cannot copy (", error.message(), ")");
    if (progress) {
      const auto bytes = int64_t(std::filesystem::file_size(destination));
      progress(bytes, bytes);
    }
    return;
  }
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  SOMA_CHECK(initialised, "cannot initialise libcurl");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(destination.c_str(), "wb"),
                                                       std::fclose);
  SOMA_CHECK(file, destination, ": cannot open for writing");
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  SOMA_CHECK(curl, "cannot start a libcurl transfer");
  Transfer transfer{file.get(), &progress};
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_URL, source.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);  // HTTP 4xx/5xx are errors
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  // Give up on a transfer slower than 1 KB/s for a minute rather than hang.
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_chunk);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, report);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &transfer);
  const CURLcode code = curl_easy_perform(curl.get());
  SOMA_CHECK(code == CURLE_OK, source, ": download failed (",
             error[0] ? error : curl_easy_strerror(code), ")");
  SOMA_CHECK(std::fflush(file.get()) == 0, destination, ": write failed");
}

}  // namespace soma::io
