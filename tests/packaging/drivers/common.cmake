# Helpers shared by the packaging drivers, which run as `cmake -P` scripts under CTest so that a broken consumer fails
# one test instead of the whole build. Lists arrive joined with "|" because CTest would split them at ";".

function(respool_split out text)
  string(REPLACE "|" ";" list "${text}")
  set(${out} "${list}" PARENT_SCOPE)
endfunction()

# Runs a command; on failure prints what ran and its output, and fails the test.
function(respool_run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "${step} failed (${rc}):\n  ${cmd}\n${out}${err}")
  endif()
endfunction()

# Runs a consumer program and checks that it printed `expect` (a regular expression).
function(respool_run_and_expect exe expect)
  execute_process(COMMAND ${exe} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${exe} exited with ${rc}:\n${out}${err}")
  endif()
  if(NOT out MATCHES "${expect}")
    message(FATAL_ERROR "${exe} printed\n${out}\nexpected a match for\n${expect}")
  endif()
  message(STATUS "${exe}: ${out}")
endfunction()
