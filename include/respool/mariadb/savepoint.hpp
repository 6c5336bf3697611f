#pragma once
#ifndef RESPOOL_MARIADB_SAVEPOINT_HPP_INCLUDED
#define RESPOOL_MARIADB_SAVEPOINT_HPP_INCLUDED
// Savepoint: RAII over a SAVEPOINT inside an open transaction; rolled back to unless released.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connection.hpp"
#include "error.hpp"
#include "identifier.hpp"

namespace respool::mariadb {

class Transaction;

// Made by Transaction::savepoint(name) (or on a connection inside a transaction). release() keeps the work done since
// the savepoint; rollback_to() undoes it; ending the scope with neither (an exception included) undoes it too. Either
// ends the guard. The enclosing transaction goes on in every case.
//
// Savepoint names go into the SQL text: they are checked (see is_valid_identifier) and backtick-quoted. A name in
// use by another guard alive on the same connection is refused: SQL would move that guard's savepoint, and undoing
// one could then undo less than it should, or fail and let the work be committed. "In use" as the server sees it:
// without regard to case, and beyond ASCII without accents ('café' is 'cafe'; asked of the server, one round trip).
//
// Thread safety: as the Connection. Move-only; refers to the connection, which must outlive it.
class Savepoint {
public:
    // SAVEPOINT `name`: one round trip (two when names beyond ASCII need the server to compare them). Throws
    // std::invalid_argument for a bad name, Error (errc::transaction_state when the connection's last reply said no
    // transaction is open, or the name is in use; or the server's error).
    Savepoint(Connection& connection, std::string_view name) : Savepoint(connection, name, nullptr) {}

    Savepoint(Savepoint&& other) noexcept
        : connection_(other.connection_), quoted_(std::move(other.quoted_)), failed_(other.failed_),
          active_(std::exchange(other.active_, false)), registered_(std::exchange(other.registered_, false)) {}
    Savepoint& operator=(Savepoint&&) = delete;
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;

    // Rolls back to the savepoint when still active (one round trip). Never throws. Does nothing when the
    // transaction is already over (a deadlock, a rollback) or the savepoint is gone (an outer rollback_to() erased
    // it). Any other failure marks the connection broken and dooms the enclosing Transaction, whose commit() then
    // refuses: work meant to be undone must not be committed.
    ~Savepoint() {
        unregister();
        if (!active_ || !connection_->in_transaction()) return;
        try {
            connection_->execute("ROLLBACK TO SAVEPOINT " + quoted_);
        } catch (const Error& e) {
            if (e.server_errno() == server_errno::savepoint_does_not_exist) return;
            doom();
        } catch (...) {
            doom();
        }
    }

    // RELEASE SAVEPOINT: keeps the work; one round trip. Throws Error (errc::transaction_state when already ended).
    void release() {
        require_active("release");
        active_ = false;
        unregister();
        connection_->execute("RELEASE SAVEPOINT " + quoted_);
    }

    // ROLLBACK TO SAVEPOINT: undoes the work done since the savepoint, keeps the transaction open; one round trip.
    // Throws Error (errc::transaction_state when already ended, or the server's error).
    void rollback_to() {
        require_active("rollback_to");
        active_ = false;
        unregister();
        try {
            connection_->execute("ROLLBACK TO SAVEPOINT " + quoted_);
        } catch (...) {
            doom();
            throw;
        }
    }

    // Whether neither release() nor rollback_to() has ended it.
    bool active() const noexcept { return active_; }

    // The savepoint's name as it appears in SQL, backticks included.
    const std::string& quoted_name() const noexcept { return quoted_; }

private:
    friend class Transaction;

    // `failed` is the Transaction's flag, set when a rollback to this savepoint fails.
    Savepoint(Connection& connection, std::string_view name, bool* failed)
        : connection_(&connection), quoted_(quote_identifier(name, "savepoint")), failed_(failed) {
        if (!connection_->in_transaction())
            throw Error(errc::transaction_state, "SAVEPOINT " + quoted_ + ": no transaction is open on this connection");
        std::vector<std::string>& alive = connection_->active_savepoints_;
        if (name_in_use(alive))
            throw Error(errc::transaction_state, "SAVEPOINT " + quoted_ +
                                                     ": a savepoint of that name is still active on this connection "
                                                     "(nested savepoints need names of their own)");
        alive.push_back(quoted_);
        registered_ = true;
        try {
            connection_->execute("SAVEPOINT " + quoted_);
        } catch (...) {
            unregister();
            throw;
        }
        active_ = true;
    }

    // Whether the server takes this savepoint's name for one of `alive` (quoted names). It compares savepoint names in
    // its system collation, utf8mb3_general_ci: ASCII without regard to case, which is decided here; beyond ASCII also
    // without accents ('café' is 'cafe'), which only the server knows in full, so names with such characters are
    // compared there: one text query (the names are checked identifiers, no quote can be in them), inside the
    // transaction, touching no table.
    bool name_in_use(const std::vector<std::string>& alive) const {
        auto ascii = [](std::string_view text) {
            return std::all_of(text.begin(), text.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
        };
        auto as_system_name = [](const std::string& quoted) {
            return "CONVERT('" + quoted.substr(1, quoted.size() - 2) + "' USING utf8mb3)";
        };
        std::string candidates;
        for (const std::string& other : alive) {
            if (ascii(other) && ascii(quoted_)) {
                if (detail::equal_ignoring_ascii_case(other, quoted_)) return true;
            } else {
                candidates += candidates.empty() ? "" : ", ";
                candidates += as_system_name(other);
            }
        }
        if (candidates.empty()) return false;
        const Result same = connection_->query("SELECT " + as_system_name(quoted_) + " COLLATE utf8mb3_general_ci IN (" +
                                               candidates + ")");
        return same.size() == 1 && same[0].get<std::optional<long long>>(0).value_or(0) != 0;
    }

    void unregister() noexcept {
        if (!std::exchange(registered_, false)) return;
        std::vector<std::string>& alive = connection_->active_savepoints_;
        if (const auto it = std::find(alive.begin(), alive.end(), quoted_); it != alive.end()) alive.erase(it);
    }

    void require_active(const char* what) const {
        if (!active_)
            throw Error(errc::transaction_state,
                        std::string("Savepoint::") + what + ": savepoint " + quoted_ + " has already been ended");
    }

    void doom() noexcept {
        if (failed_) *failed_ = true;
        connection_->mark_broken();
    }

    Connection* connection_;
    std::string quoted_;
    bool* failed_ = nullptr;
    bool active_ = false;
    bool registered_ = false; // its name is in the connection's active_savepoints_
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_SAVEPOINT_HPP_INCLUDED
