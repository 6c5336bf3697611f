# Each header under include/respool compiles on its own: one translation unit per header, each holding only that
# header, compiled with COMPILER and FLAGS. The headers are listed now rather than at configure time so that a header
# added later is never missed. WITH_MARIADB=OFF leaves out the adapter's headers (libmariadb is not installed).
#   cmake -DCOMPILER=.. -DFLAGS=a|b -DINCLUDE_DIR=.. -DWORK_DIR=.. -DWITH_MARIADB=ON|OFF -P headers_alone.cmake
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

respool_split(flags "${FLAGS}")
file(GLOB_RECURSE headers RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/respool/*.hpp")
list(SORT headers)
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(checked 0)
set(failed "")
foreach(header IN LISTS headers)
  if(NOT WITH_MARIADB AND header MATCHES "^respool/mariadb")
    message(STATUS "skipped (no libmariadb): ${header}")
    continue()
  endif()
  string(MAKE_C_IDENTIFIER "${header}" stem)
  set(tu "${WORK_DIR}/${stem}.cpp")
  # Included twice: a header that compiles alone must also survive being included again.
  file(WRITE "${tu}" "#include <${header}>\n#include <${header}>\n")
  execute_process(COMMAND ${COMPILER} ${flags} -I${INCLUDE_DIR} -fsyntax-only ${tu}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  math(EXPR checked "${checked} + 1")
  if(NOT rc EQUAL 0)
    list(APPEND failed "${header}")
    message("${header} does not compile on its own:\n${out}${err}")
  endif()
endforeach()
if(failed)
  list(JOIN failed ", " failed)
  message(FATAL_ERROR "headers that do not compile on their own: ${failed}")
endif()
if(checked EQUAL 0)
  message(FATAL_ERROR "no header found under ${INCLUDE_DIR}/respool")
endif()
message(STATUS "${checked} headers compile on their own with ${COMPILER}")
