#pragma once
// A throwaway MariaDB server of one test's own, and SIGSTOP for it: a stopped server accepts bytes but never answers.
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "test_server.hpp"

namespace respool_test {

inline std::filesystem::path server_script() { // tests/mariadb/private_server.hpp -> tools/mariadb_server.sh
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "tools" / "mariadb_server.sh";
}

inline bool can_start_a_server() {
    return std::filesystem::exists(server_script()) &&
           std::system("command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 || "
                       "test -x /usr/sbin/mariadbd || test -x /usr/sbin/mysqld") == 0;
}

// A throwaway server started with tools/mariadb_server.sh for one test, so that stopping it disturbs no other test
// (they share the fixture's server). Shut down and removed when it ends.
class PrivateServer {
public:
    PrivateServer() {
        char dir[] = "/tmp/respool_private_server_XXXXXX";
        if (!::mkdtemp(dir)) return;
        dir_ = dir;
        started_ = std::system(("'" + server_script().string() + "' start '" + dir_ + "' >/dev/null").c_str()) == 0;
    }
    PrivateServer(const PrivateServer&) = delete;
    PrivateServer& operator=(const PrivateServer&) = delete;
    ~PrivateServer() {
        if (dir_.empty()) return;
        if (started_) ::kill(pid(), SIGCONT); // whatever happened, it must be able to shut down
        if (std::system(("'" + server_script().string() + "' stop '" + dir_ + "' >/dev/null 2>&1").c_str()) != 0)
            std::filesystem::remove_all(dir_);
    }

    bool started() const { return started_; }
    std::string url() const { return first_word(dir_ + "/url"); }
    pid_t pid() const { return static_cast<pid_t>(std::stol(first_word(dir_ + "/mysqld.pid"))); }

private:
    static std::string first_word(const std::string& file) {
        std::ifstream in(file);
        std::string word;
        in >> word;
        return word;
    }

    std::string dir_;
    bool started_ = false;
};

// SIGSTOP now, SIGCONT when this ends, whatever happens in between. stopped() once every thread of the process is
// stopped: SIGSTOP takes effect as each thread next enters the kernel, so a thread running on another core could
// still answer one more request after kill() returned.
class StoppedProcess {
public:
    explicit StoppedProcess(pid_t pid) : pid_(pid) {
        sent_ = ::kill(pid_, SIGSTOP) == 0;
        stopped_ = sent_ && eventually([this] { return all_threads_stopped(); }, std::chrono::seconds(5));
    }
    StoppedProcess(const StoppedProcess&) = delete;
    StoppedProcess& operator=(const StoppedProcess&) = delete;
    ~StoppedProcess() {
        if (sent_) ::kill(pid_, SIGCONT);
    }
    bool stopped() const { return stopped_; }

private:
    // Whether every thread's state in /proc/PID/task/TID/stat (the field after the parenthesised name) is T.
    bool all_threads_stopped() const {
        std::error_code ec;
        for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ec)) {
            std::ifstream stat(task.path() / "stat");
            std::string line;
            std::getline(stat, line);
            const auto name_end = line.rfind(')');
            if (name_end == std::string::npos || name_end + 2 >= line.size()) return false;
            if (line[name_end + 2] != 'T') return false;
        }
        return !ec;
    }

    pid_t pid_;
    bool sent_ = false;
    bool stopped_ = false;
};

} // namespace respool_test
