#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_ASYNC_IO_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_ASYNC_IO_HPP_INCLUDED
// SocketWaiter: waits, through Asio, for what a Connector/C non-blocking call asks (MYSQL_WAIT_* flags). Not API:
// AsyncConnection drives its *_start / *_cont calls with it.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <fcntl.h>
#include <mysql.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/basic_stream_descriptor.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>
#include <boost/version.hpp>
#if BOOST_VERSION >= 107700 // per-operation cancellation
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>
#endif

#include <chrono>
#include <memory>
#include <optional>

namespace respool::mariadb::detail {

// One per connection. Its descriptor and timer live on a strand of the connection's executor, so their handlers never
// run at once even on an io_context that several threads run. A wait registers every asked-for event, then asks the
// socket itself with poll(0): Asio's epoll reactor is edge-triggered, and readiness that came before registration
// (another thread's epoll_wait may have consumed the edge) would otherwise never be reported. The first event cancels
// the others; the completion runs once all of them have finished, so the next wait starts on idle objects.
//
// The socket belongs to Connector/C, which closes it itself when the server goes away. Asio watches a duplicate of
// the descriptor, which this waiter closes: watching Connector/C's own number, a detach after Connector/C closed it
// would take out of epoll whatever socket has reused that number since (another connection's, which then hangs).
class SocketWaiter {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit SocketWaiter(executor_type executor)
        : io_(std::make_shared<Io>(boost::asio::make_strand(std::move(executor)))) {}

    SocketWaiter(const SocketWaiter&) = delete;
    SocketWaiter& operator=(const SocketWaiter&) = delete;

    ~SocketWaiter() { detach(); }

    executor_type get_executor() const noexcept { return io_->strand.get_inner_executor(); }

    // What a wait completes with when Asio's per-operation cancellation (Boost 1.77+, terminal) ended it first.
    static constexpr int cancelled = -1;

    // Completes with the MYSQL_WAIT_* flags that are ready among `status` (read/write/except on `fd`, timeout after
    // `timeout_ms`), the value to pass to the *_cont call, or `cancelled`. Completion signature void(int). Never
    // blocks. Precondition: no other wait is in progress on this waiter.
    template <class CompletionToken>
    auto async_wait(int fd, int status, unsigned timeout_ms, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(int)>(
            [io = io_, fd, status, timeout_ms](auto handler) {
                using Handler = decltype(handler);
#if BOOST_VERSION >= 107700
                auto slot = boost::asio::get_associated_cancellation_slot(handler);
#endif
                auto op = std::make_shared<Op<Handler>>(std::move(handler));
#if BOOST_VERSION >= 107700
                // Terminal cancellation only: the operation it interrupts leaves the session unusable (the caller
                // abandons it), which is what terminal allows and partial or total do not.
                if (slot.is_connected()) {
                    slot.assign([weak_io = std::weak_ptr<Io>(io),
                                 weak_op = std::weak_ptr<Op<Handler>>(op)](boost::asio::cancellation_type_t type) {
                        if ((type & boost::asio::cancellation_type::terminal) == boost::asio::cancellation_type::none)
                            return;
                        const auto locked = weak_io.lock();
                        if (!locked) return;
                        boost::asio::dispatch(locked->strand, [locked, weak_op] {
                            if (const auto waiting = weak_op.lock()) cancel(*locked, *waiting);
                        });
                    });
                }
#endif
                boost::asio::dispatch(io->strand, [io, op, fd, status, timeout_ms] {
                    arm(io, op, fd, status, timeout_ms);
                });
            },
            token);
    }

    // Lets go of the socket (closing only this waiter's duplicate) and of the timer, e.g. once the socket may have
    // changed or before the connection rests in a pool. Precondition: no wait in progress.
    void detach() noexcept { io_->detach(); }

private:
    using Strand = boost::asio::strand<executor_type>;
    using Descriptor = boost::asio::posix::basic_stream_descriptor<Strand>;
    using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                    boost::asio::wait_traits<std::chrono::steady_clock>, Strand>;

    // Shared with the handlers in flight, so that they never outlive what they touch.
    struct Io {
        explicit Io(Strand s) : strand(std::move(s)) {}
        Strand strand;
        std::optional<Descriptor> descriptor; // holds a duplicate of watched_fd
        int watched_fd = -1;                  // Connector/C's descriptor that `descriptor` duplicates
        std::optional<Timer> timer;

        void detach() noexcept {
            if (descriptor) {
                boost::system::error_code ignored;
                descriptor->close(ignored); // the duplicate only: Connector/C's descriptor stays as it is
                descriptor.reset();
            }
            watched_fd = -1;
            timer.reset();
        }
    };

    template <class Handler>
    struct Op {
        explicit Op(Handler&& h) : handler(std::move(h)) {}
        Handler handler;
        int ready = 0;   // MYSQL_WAIT_* flags seen so far
        int pending = 0; // Asio waits not yet completed
        bool settled = false;
        bool armed = false;     // arm() ran
        bool completed = false; // complete() ran
        bool cancelled = false; // cancel() settled it: it completes with `cancelled`
    };

    // On the strand: ends the wait as cancelled unless an event settled it first. Before arm() runs, arm() completes
    // it at once.
    template <class Handler>
    static void cancel(Io& io, Op<Handler>& op) noexcept {
        if (op.settled || op.completed) return;
        op.cancelled = true;
        if (op.armed) settle(io, op); // the waits end with operation_aborted; the last completes the op
    }

    template <class Handler>
    static void arm(const std::shared_ptr<Io>& io, const std::shared_ptr<Op<Handler>>& op, int fd, int status,
                    unsigned timeout_ms) {
        op->armed = true;
        if (op->cancelled) return complete(io, op);
        const int socket_events = status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT);
        if (socket_events != 0) {
            if (io->descriptor && io->watched_fd != fd) io->detach();
            if (!io->descriptor) {
                if (const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0); copy >= 0) {
                    boost::system::error_code ec;
                    io->descriptor.emplace(io->strand);
                    io->descriptor->assign(copy, ec);
                    if (ec) { // not taken over: it is still ours to close
                        io->descriptor.reset();
                        ::close(copy);
                    }
                }
                if (!io->descriptor) { // cannot watch it: report it ready, Connector/C finds the error itself
                    op->ready = socket_events;
                    return complete(io, op);
                }
                io->watched_fd = fd;
            }
            auto watch = [&](int flag, boost::asio::posix::descriptor_base::wait_type type) {
                if ((status & flag) == 0) return;
                ++op->pending;
                io->descriptor->async_wait(type, [io, op, flag](const boost::system::error_code& ec) {
                    on_event(io, op, flag, ec);
                });
            };
            watch(MYSQL_WAIT_READ, boost::asio::posix::descriptor_base::wait_read);
            watch(MYSQL_WAIT_WRITE, boost::asio::posix::descriptor_base::wait_write);
            watch(MYSQL_WAIT_EXCEPT, boost::asio::posix::descriptor_base::wait_error);
        }
        if ((status & MYSQL_WAIT_TIMEOUT) != 0) {
            if (!io->timer) io->timer.emplace(io->strand);
            io->timer->expires_after(std::chrono::milliseconds(timeout_ms));
            ++op->pending;
            io->timer->async_wait([io, op](const boost::system::error_code& ec) {
                on_event(io, op, MYSQL_WAIT_TIMEOUT, ec);
            });
        }
        if (socket_events != 0) {
            if (const int now = poll_now(fd, socket_events); now != 0) {
                op->ready |= now;
                settle(*io, *op);
            }
        }
        if (op->pending == 0) complete(io, op);
    }

    // What is ready on `fd` right now, without waiting.
    static int poll_now(int fd, int wanted) noexcept {
        pollfd p{};
        p.fd = fd;
        if ((wanted & MYSQL_WAIT_READ) != 0) p.events |= POLLIN;
        if ((wanted & MYSQL_WAIT_WRITE) != 0) p.events |= POLLOUT;
        if ((wanted & MYSQL_WAIT_EXCEPT) != 0) p.events |= POLLPRI;
        if (::poll(&p, 1, 0) <= 0) return 0;
        if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return wanted; // let Connector/C see the failure
        int ready = 0;
        if ((p.revents & POLLIN) != 0) ready |= MYSQL_WAIT_READ;
        if ((p.revents & POLLOUT) != 0) ready |= MYSQL_WAIT_WRITE;
        if ((p.revents & POLLPRI) != 0) ready |= MYSQL_WAIT_EXCEPT;
        return ready & wanted;
    }

    template <class Handler>
    static void on_event(const std::shared_ptr<Io>& io, const std::shared_ptr<Op<Handler>>& op, int flag,
                         const boost::system::error_code& ec) {
        if (ec != boost::asio::error::operation_aborted) { // an error other than our own cancel: let Connector/C look
            op->ready |= flag;
            settle(*io, *op);
        }
        if (--op->pending == 0) complete(io, op);
    }

    // The first event cancels the other waits.
    template <class Handler>
    static void settle(Io& io, Op<Handler>& op) noexcept {
        if (op.settled) return;
        op.settled = true;
        boost::system::error_code ignored;
        if (io.descriptor) io.descriptor->cancel(ignored);
        if (io.timer) io.timer->cancel(ignored);
    }

    template <class Handler>
    static void complete(const std::shared_ptr<Io>& io, const std::shared_ptr<Op<Handler>>& op) {
        op->completed = true;
        int ready = op->cancelled ? cancelled : op->ready;
        // The socket wins over a timer that expired at the same moment: the data is there.
        if (ready > 0 && (ready & ~MYSQL_WAIT_TIMEOUT) != 0) ready &= ~MYSQL_WAIT_TIMEOUT;
        auto executor = boost::asio::get_associated_executor(op->handler, io->strand);
        boost::asio::dispatch(executor, [handler = std::move(op->handler), ready]() mutable {
            std::move(handler)(ready);
        });
    }

    std::shared_ptr<Io> io_;
};

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_ASYNC_IO_HPP_INCLUDED
