# Compiles SOURCE; succeeds (and prints the diagnostics for PASS_REGULAR_EXPRESSION) only if compilation fails.
set(extra_includes)
foreach(dir IN LISTS EXTRA_INCLUDES) # a ;-list: libmariadb's headers for the adapter's cases
  list(APPEND extra_includes -I${dir})
endforeach()
execute_process(COMMAND ${COMPILER} -std=c++20 -fsyntax-only -I${INCLUDE} ${extra_includes} ${SOURCE}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
message("${err}")
