use std::time::Instant;
fn rd_u32(p:&str)->Vec<u32>{let b=std::fs::read(p).unwrap();b.chunks_exact(4).map(|c|u32::from_le_bytes(c.try_into().unwrap())).collect()}
fn rd_f32(p:&str)->Vec<f32>{let b=std::fs::read(p).unwrap();b.chunks_exact(4).map(|c|f32::from_le_bytes(c.try_into().unwrap())).collect()}
struct Data{n:usize,ds:usize,dd:usize,indptr:Vec<u32>,idx:Vec<u32>,val:Vec<f32>,dense:Vec<f32>,y:Vec<u32>}
fn load(s:&str)->Data{let p=format!("/tmp/nlu/bin_{s}_");let h=rd_u32(&(p.clone()+"hdr"));
 Data{n:h[0] as usize,ds:h[1] as usize,dd:h[2] as usize,indptr:rd_u32(&(p.clone()+"indptr")),idx:rd_u32(&(p.clone()+"indices")),val:rd_f32(&(p.clone()+"data")),dense:rd_f32(&(p.clone()+"dense")),y:rd_u32(&(p+"y"))}}
#[inline] fn ddot(a:&[f32],b:&[f32])->f32{let mut acc=[0f32;16];let ca=a.chunks_exact(16);let cb=b.chunks_exact(16);
 for (x,y) in ca.zip(cb){for k in 0..16{acc[k]+=x[k]*y[k];}} acc.iter().sum()}
#[inline] fn daxpy(a:f32,x:&[f32],w:&mut [f32]){for (wi,xi) in w.iter_mut().zip(x){*wi+=a**xi;}}
impl Data{
 fn dot(&self,i:usize,ws:&[f32],wd:&[f32],b:f32)->f32{let (s,e)=(self.indptr[i] as usize,self.indptr[i+1] as usize);
  let mut t=0f32;for k in s..e{t+=self.val[k]*ws[self.idx[k] as usize];}
  t+ddot(&self.dense[i*self.dd..(i+1)*self.dd],wd)+b}
 fn axpy(&self,i:usize,a:f32,ws:&mut[f32],wd:&mut[f32],b:&mut f32){let (s,e)=(self.indptr[i] as usize,self.indptr[i+1] as usize);
  for k in s..e{ws[self.idx[k] as usize]+=a*self.val[k];} daxpy(a,&self.dense[i*self.dd..(i+1)*self.dd],wd);*b+=a;}
}
// liblinear L2R_L2LOSS_SVC_DUAL with shrinking, one class vs rest, bias feature = 1
fn train_one(d:&Data,cls:u32,c:f32,epochs:usize,qd:&[f32])->(Vec<f32>,Vec<f32>,f32,usize){
 let diag=0.5/c; let eps=0.1f32; let mut ws=vec![0f32;d.ds]; let mut wd=vec![0f32;d.dd]; let mut b=0f32;
 let mut alpha=vec![0f32;d.n]; let mut index:Vec<usize>=(0..d.n).collect(); let mut rng:u64=0x9E3779B97F4A7C15^(cls as u64+1);
 let mut active=d.n; let (mut pgmax_old,mut pgmin_old)=(f32::INFINITY,f32::NEG_INFINITY); let mut it=0;
 while it<epochs{
  for i in (1..active).rev(){rng^=rng<<13;rng^=rng>>7;rng^=rng<<17;index.swap(i,(rng%(i as u64+1)) as usize);}
  let (mut pgmax,mut pgmin)=(f32::NEG_INFINITY,f32::INFINITY);
  let mut s=0;
  while s<active{ let i=index[s]; let yi=if d.y[i]==cls{1f32}else{-1f32};
   let g=yi*d.dot(i,&ws,&wd,b)-1.0+diag*alpha[i];
   let mut pg=0.0;
   if alpha[i]==0.0{ if g>pgmax_old{active-=1;index.swap(s,active);continue;} else if g<0.0{pg=g;} } else {pg=g;}
   pgmax=pgmax.max(pg);pgmin=pgmin.min(pg);
   if pg.abs()>1e-12{let old=alpha[i];alpha[i]=(old-g/(qd[i]+diag)).max(0.0);let dlt=(alpha[i]-old)*yi;if dlt!=0.0{d.axpy(i,dlt,&mut ws,&mut wd,&mut b);}}
   s+=1;}
  it+=1;
  if pgmax-pgmin<=eps{ if active==d.n{break;} active=d.n; pgmax_old=f32::INFINITY; pgmin_old=f32::NEG_INFINITY; continue;}
  pgmax_old=if pgmax<=0.0{f32::INFINITY}else{pgmax}; pgmin_old=if pgmin>=0.0{f32::NEG_INFINITY}else{pgmin};
 }
 (ws,wd,b,it)}
fn main(){
 let a:Vec<String>=std::env::args().collect(); let epochs:usize=a[1].parse().unwrap(); let threads:usize=a[2].parse().unwrap(); let c:f32=a.get(3).map(|s|s.parse().unwrap()).unwrap_or(1.0);
 let pre=std::env::var("PRE").unwrap_or_default(); let tr=load(&format!("{pre}train")); let te=load(&format!("{pre}test")); let k=*tr.y.iter().max().unwrap() as usize+1;
 let t=Instant::now();
 let qd:Vec<f32>=(0..tr.n).map(|i|{let (s,e)=(tr.indptr[i] as usize,tr.indptr[i+1] as usize);tr.val[s..e].iter().map(|v|v*v).sum::<f32>()+ddot(&tr.dense[i*tr.dd..(i+1)*tr.dd],&tr.dense[i*tr.dd..(i+1)*tr.dd])+1.0}).collect();
 let mut models:Vec<Option<(Vec<f32>,Vec<f32>,f32,usize)>>=(0..k).map(|_|None).collect();
 std::thread::scope(|s|{ let chunks:Vec<_>=models.chunks_mut((k+threads-1)/threads).enumerate().collect();
  let per=(k+threads-1)/threads;
  for (ci,ch) in chunks{let tr=&tr;let qd=&qd;s.spawn(move||{for (j,m) in ch.iter_mut().enumerate(){*m=Some(train_one(tr,(ci*per+j) as u32,c,epochs,qd));}});}});
 let el=t.elapsed().as_secs_f64();
 let models:Vec<_>=models.into_iter().map(|m|m.unwrap()).collect();
 let maxep=models.iter().map(|m|m.3).max().unwrap(); let meanep=models.iter().map(|m|m.3).sum::<usize>() as f64/k as f64;
 let t2=Instant::now(); let mut ok=0;
 for i in 0..te.n{let (s,e)=(te.indptr[i] as usize,te.indptr[i+1] as usize);
  let mut best=(f32::MIN,0);for (cl,(ws,wd,b,_)) in models.iter().enumerate(){
   let mut v=*b+ddot(&te.dense[i*te.dd..(i+1)*te.dd],wd);for q in s..e{let j=te.idx[q] as usize; if j<ws.len(){v+=te.val[q]*ws[j];}}
   if v>best.0{best=(v,cl)}}
  if best.1 as u32==te.y[i]{ok+=1;}}
 println!("epochs<={epochs} threads={threads} C={c}: train {el:.2}s (epochs used mean {meanep:.1} max {maxep}), acc {:.4}, predict {:.1} us/msg",ok as f64/te.n as f64,t2.elapsed().as_secs_f64()*1e6/te.n as f64);
}
