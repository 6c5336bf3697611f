// Row::get<char>: a character type is refused with the library's own message (text is read as std::string).
#include <respool/mariadb.hpp>

char first_letter(const respool::mariadb::Row& row) { return row.get<char>(0); }
