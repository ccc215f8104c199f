/*  lthub_edxml: the `lthub edxml` command, offline checks of a package file.

      lthub edxml inspect FILE [--trust DIR|FILE] [--json]
      lthub edxml validate FILE

    inspect prints the header, the attachments with their signature verdicts
    and signers, the header XML-DSig verdict and the main file's verdict;
    validate prints "valid" (exit 0) or the reader's reason (exit 1).
*/
#ifndef LTHUB_EDXML_H_INCLUDED
#define LTHUB_EDXML_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Run the command; argv[0] is "edxml". Returns the process exit status:
//  0 success, 1 the package is unreadable or invalid, 2 usage error.
int lthub_edxml_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
